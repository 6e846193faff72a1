"""Consortia's Python client SDK, in the shape of Hyperledger Fabric's Gateway client API.

It talks to any peer serving Fabric's `gateway.Gateway` service (a Consortia peer or a
Fabric one), with the names of the official Go and Node SDKs in Python's case:

    from consortia.client import connect

    with connect("127.0.0.1:7051", signer=signing_identity, tls_root_ca=ca_pem) as gateway:
        network = gateway.get_network("trading")
        contract = network.get_contract("trading")
        contract.submit_transaction("PlaceOrder", "o1", "100")   # waits for the commit
        contract.evaluate_transaction("GetOrder", "o1")          # a query

        checkpointer = FileCheckpointer("trading-events.json")   # resumes where it stopped
        with network.get_chaincode_events("trading", checkpoint=checkpointer) as events:
            for event in events:
                ...
                checkpointer.checkpoint_chaincode_event(event)

The API is synchronous (blocking gRPC); event streams are iterators closed from any
thread. `consortia.client.aio` is the same API for asyncio: coroutine calls, and chaincode
and block events as `async for`. Errors are `consortia.errors.ConsortiaError`s that
print what each endorser or orderer said.
"""

from consortia.client.block_events import (
    BlockAndPrivateDataEventsRequest,
    BlockAndPrivateDataEventStream,
    BlockEventsRequest,
    BlockEventStream,
    FilteredBlockEventsRequest,
    FilteredBlockEventStream,
)
from consortia.client.chaincode_events import (
    ChaincodeEvent,
    ChaincodeEventsRequest,
    ChaincodeEventStream,
)
from consortia.client.checkpoint import (
    Checkpoint,
    Checkpointer,
    CheckpointError,
    FileCheckpointer,
    InMemoryCheckpointer,
)
from consortia.client.commit import Commit, Status, SubmittedTransaction
from consortia.client.connection import Timeouts
from consortia.client.contract import Contract
from consortia.client.errors import (
    CommitError,
    CommitStatusError,
    DeliverError,
    EndorseError,
    ErrorDetail,
    GatewayError,
    NoSignerError,
    SubmitError,
    TransactionError,
)
from consortia.client.gateway import Gateway, connect
from consortia.client.network import Network
from consortia.client.proposal import Proposal
from consortia.client.signing import MessageSigner, sign_digest
from consortia.client.stream import EventStream
from consortia.client.transaction import Transaction

__all__ = [
    "BlockAndPrivateDataEventStream",
    "BlockAndPrivateDataEventsRequest",
    "BlockEventStream",
    "BlockEventsRequest",
    "ChaincodeEvent",
    "ChaincodeEventStream",
    "ChaincodeEventsRequest",
    "Checkpoint",
    "CheckpointError",
    "Checkpointer",
    "Commit",
    "CommitError",
    "CommitStatusError",
    "Contract",
    "DeliverError",
    "EndorseError",
    "ErrorDetail",
    "EventStream",
    "FileCheckpointer",
    "FilteredBlockEventStream",
    "FilteredBlockEventsRequest",
    "Gateway",
    "GatewayError",
    "InMemoryCheckpointer",
    "MessageSigner",
    "Network",
    "NoSignerError",
    "Proposal",
    "Status",
    "SubmitError",
    "SubmittedTransaction",
    "Timeouts",
    "Transaction",
    "TransactionError",
    "connect",
    "sign_digest",
]
