"""The peer's Deliver service logic: committed blocks, or filtered blocks, for readers.

`Deliver` sends blocks as committed (with their validation codes); `DeliverFiltered`
sends for each block only its transaction ids, types, validation codes and chaincode
events without payloads, which is what applications waiting for commits need. Both
require the channel's /Channel/Application/Readers policy.
"""

from __future__ import annotations

from fabric_protos.common import common_pb2
from fabric_protos.peer import events_pb2

from consortia.errors import MessageError
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import unpack_envelope
from consortia.protoutil.transaction import UnpackedTransaction, unpack_transaction


def filtered_block(block: common_pb2.Block, channel_id: str) -> events_pb2.FilteredBlock:
    codes = blocks.transactions_filter(block)
    filtered = events_pb2.FilteredBlock(channel_id=channel_id, number=block.header.number)
    for index, raw in enumerate(block.data.data):
        code = codes[index] if index < len(codes) else 254
        try:
            transaction: UnpackedTransaction | None = unpack_transaction(raw)
        except MessageError:
            transaction = None  # not an endorser transaction, or a malformed one
        try:
            envelope = transaction.envelope if transaction is not None else unpack_envelope(raw)
        except MessageError:
            filtered.filtered_transactions.add(tx_validation_code=code)
            continue
        tx = filtered.filtered_transactions.add(
            txid=envelope.tx_id, type=envelope.header_type, tx_validation_code=code
        )
        if transaction is None:
            continue
        try:
            event = transaction.actions[0].event()
        except MessageError:
            continue
        if event is not None:
            event.payload = b""
            tx.transaction_actions.chaincode_actions.add(chaincode_event=event)
    return filtered
