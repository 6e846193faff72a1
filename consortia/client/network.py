"""A network: one channel as seen through a gateway, with its contracts and events."""

from __future__ import annotations

from fabric_protos.common import common_pb2

from consortia.client.block_events import (
    BlockAndPrivateDataEventsRequest,
    BlockAndPrivateDataEventStream,
    BlockEventsRequest,
    BlockEventStream,
    FilteredBlockEventsRequest,
    FilteredBlockEventStream,
    seek_info,
    unsigned_seek_envelope,
)
from consortia.client.chaincode_events import (
    ChaincodeEventsRequest,
    ChaincodeEventStream,
)
from consortia.client.checkpoint import Checkpoint
from consortia.client.commit import Commit, commit_status_request
from consortia.client.connection import Connection
from consortia.client.contract import Contract
from consortia.protoutil.envelope import create_signed_envelope


class Network:
    """Channel `name`: get its contracts, listen to its chaincode events and blocks."""

    def __init__(self, connection: Connection, name: str) -> None:
        self._connection = connection
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def get_contract(self, chaincode_name: str, contract_name: str | None = None) -> Contract:
        """The contract `contract_name` of the chaincode (its default contract if None)."""
        return Contract(self._connection, self._name, chaincode_name, contract_name)

    def new_commit(self, transaction_id: str) -> Commit:
        """The commit status of any transaction of this channel, by its id (for one
        submitted earlier, by this client or another: any member of the channel may ask)."""
        return Commit(self._connection, commit_status_request(self._name, transaction_id, self._connection.creator),
                      transaction_id, self._name)

    def get_chaincode_events(self, chaincode_name: str, start_block: int | None = None,
                             checkpoint: Checkpoint | None = None,
                             timeout: float | None = None) -> ChaincodeEventStream:
        """Events of `chaincode_name` from the checkpoint, `start_block`, or the next commit."""
        return self.new_chaincode_events_request(chaincode_name, start_block, checkpoint).get_events(timeout)

    def new_chaincode_events_request(self, chaincode_name: str, start_block: int | None = None,
                                     checkpoint: Checkpoint | None = None) -> ChaincodeEventsRequest:
        """The request `get_chaincode_events` sends, for offline signing."""
        return ChaincodeEventsRequest.create(self._connection, self._name, chaincode_name, start_block, checkpoint)

    def get_block_events(self, start_block: int | None = None, checkpoint: Checkpoint | None = None,
                         timeout: float | None = None) -> BlockEventStream:
        """Blocks from the checkpoint's block, `start_block`, or the newest block, as they commit."""
        return self.new_block_events_request(start_block, checkpoint).get_events(timeout)

    def new_block_events_request(self, start_block: int | None = None,
                                 checkpoint: Checkpoint | None = None) -> BlockEventsRequest:
        return BlockEventsRequest(self._connection, self._seek_envelope(start_block, checkpoint))

    def get_filtered_block_events(self, start_block: int | None = None, checkpoint: Checkpoint | None = None,
                                  timeout: float | None = None) -> FilteredBlockEventStream:
        """Filtered blocks (transaction ids, types, validation codes, event names)."""
        return self.new_filtered_block_events_request(start_block, checkpoint).get_events(timeout)

    def new_filtered_block_events_request(self, start_block: int | None = None,
                                          checkpoint: Checkpoint | None = None) -> FilteredBlockEventsRequest:
        return FilteredBlockEventsRequest(self._connection, self._seek_envelope(start_block, checkpoint))

    def get_block_and_private_data_events(self, start_block: int | None = None,
                                          checkpoint: Checkpoint | None = None,
                                          timeout: float | None = None) -> BlockAndPrivateDataEventStream:
        """Blocks with the private data of the collections the client's org is a member of."""
        return self.new_block_and_private_data_events_request(start_block, checkpoint).get_events(timeout)

    def new_block_and_private_data_events_request(self, start_block: int | None = None,
                                                  checkpoint: Checkpoint | None = None,
                                                  ) -> BlockAndPrivateDataEventsRequest:
        return BlockAndPrivateDataEventsRequest(self._connection, self._seek_envelope(start_block, checkpoint))

    def _seek_envelope(self, start_block: int | None, checkpoint: Checkpoint | None) -> common_pb2.Envelope:
        seek = seek_info(start_block, checkpoint)
        signer = self._connection.identity.signer
        if signer is None:
            return unsigned_seek_envelope(self._name, self._connection.creator, seek)
        return create_signed_envelope(common_pb2.DELIVER_SEEK_INFO, self._name, signer, seek.SerializeToString())
