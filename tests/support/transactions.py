"""Endorser transactions with chosen read-write sets, as real endorsers would sign them.

The endorser node arrives with the chaincode runtime; until then tests build what it
would produce: a signed proposal, proposal responses signed by the chosen endorsers
over a read-write set, and the client-signed transaction envelope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_response_pb2

from consortia.msp.signing import SigningIdentity
from consortia.protoutil.proposal import create_proposal, sign_proposal, unpack_proposal
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import create_signed_transaction


@dataclass
class NsWrites:
    """One namespace's part of a read-write set, written compactly."""

    reads: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    writes: dict[str, bytes | None] = field(default_factory=dict)  # None deletes
    metadata: dict[str, dict[str, bytes]] = field(default_factory=dict)
    ranges: list[tuple[str, str, bool, list[tuple[str, tuple[int, int]]]]] = field(default_factory=list)

    def to_proto(self) -> kv_rwset_pb2.KVRWSet:
        def read(key: str, version: tuple[int, int] | None) -> kv_rwset_pb2.KVRead:
            if version is None:
                return kv_rwset_pb2.KVRead(key=key)
            return kv_rwset_pb2.KVRead(key=key, version=kv_rwset_pb2.Version(block_num=version[0], tx_num=version[1]))

        return kv_rwset_pb2.KVRWSet(
            reads=[read(k, v) for k, v in sorted(self.reads.items())],
            range_queries_info=[
                kv_rwset_pb2.RangeQueryInfo(
                    start_key=start, end_key=end, itr_exhausted=exhausted,
                    raw_reads=kv_rwset_pb2.QueryReads(kv_reads=[read(k, v) for k, v in results]),
                )
                for start, end, exhausted, results in self.ranges
            ],
            writes=[
                kv_rwset_pb2.KVWrite(key=k, is_delete=v is None, value=v or b"") for k, v in sorted(self.writes.items())
            ],
            metadata_writes=[
                kv_rwset_pb2.KVMetadataWrite(
                    key=k, entries=[kv_rwset_pb2.KVMetadataEntry(name=n, value=e[n]) for n in sorted(e)]
                )
                for k, e in sorted(self.metadata.items())
            ],
        )


def rwset_bytes(namespaces: dict[str, NsWrites]) -> bytes:
    return bytes(
        rwset_pb2.TxReadWriteSet(
            data_model=rwset_pb2.TxReadWriteSet.KV,
            ns_rwset=[
                rwset_pb2.NsReadWriteSet(namespace=name, rwset=ns.to_proto().SerializeToString())
                for name, ns in sorted(namespaces.items())
            ],
        ).SerializeToString()
    )


def endorser_transaction(
    channel_id: str,
    chaincode: str,
    client: SigningIdentity,
    endorsers: Sequence[SigningIdentity],
    namespaces: dict[str, NsWrites] | None = None,
    *,
    results: bytes | None = None,
    event: tuple[str, bytes] | None = None,
    response_payload: bytes = b"ok",
) -> common_pb2.Envelope:
    """A transaction invoking `chaincode`, endorsed by `endorsers` over the given rwset."""
    proposal, tx_id = create_proposal(channel_id, chaincode, [b"invoke"], client.serialize())
    unpacked = unpack_proposal(sign_proposal(proposal, client))
    rwset = results if results is not None else rwset_bytes(namespaces or {chaincode: NsWrites()})
    chaincode_event = None
    if event is not None:
        chaincode_event = chaincode_event_pb2.ChaincodeEvent(
            chaincode_id=chaincode, tx_id=tx_id, event_name=event[0], payload=event[1]
        )
    responses = [
        create_proposal_response(
            unpacked,
            results=rwset,
            response=proposal_response_pb2.Response(status=200, payload=response_payload),
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode, version="1.0"),
            endorser=endorser,
            event=chaincode_event,
        )
        for endorser in endorsers
    ]
    if not responses:
        # A transaction whose only endorsement is empty: built by hand, as no SDK would.
        response = create_proposal_response(
            unpacked, results=rwset, response=proposal_response_pb2.Response(status=200),
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode, version="1.0"), endorser=client,
        )
        response.ClearField("endorsement")
        response.endorsement.SetInParent()
        envelope = create_signed_transaction(unpacked, [response], client)
        return envelope
    return create_signed_transaction(unpacked, responses, client)
