"""The gateway: one client identity's connection to a peer's Fabric Gateway service.

    with connect("127.0.0.1:7051", signer=identity, tls_root_ca=ca_pem) as gateway:
        contract = gateway.get_network("trading").get_contract("trading")
        contract.submit_transaction("PlaceOrder", "o1", "100")

The peer's gateway does the work of a transaction for the client: it finds the peers
the endorsement policy needs, collects and checks their endorsements, hands the signed
transaction to an orderer and reports the commit. The client only signs.

A gateway connected with `identity=` bytes and no signer signs nothing: each proposal,
transaction, commit and event request offers `bytes()` and `digest()`, and comes back
signed through `new_signed_proposal` and its siblings (see `consortia.client.signing`).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2

from consortia.client.block_events import (
    BlockAndPrivateDataEventsRequest,
    BlockEventsRequest,
    FilteredBlockEventsRequest,
)
from consortia.client.chaincode_events import ChaincodeEventsRequest
from consortia.client.commit import Commit
from consortia.client.connection import Connection, Timeouts
from consortia.client.network import Network
from consortia.client.proposal import Proposal
from consortia.client.signing import GatewayIdentity, MessageSigner
from consortia.client.transaction import Transaction
from consortia.errors import ConsortiaError
from consortia.grpcutil import OPTIONS
from consortia.protoutil.envelope import decode


class Gateway:
    """A connection to a Fabric gateway as one identity; close it when done."""

    def __init__(self, connection: Connection, channel: Any, owns_channel: bool) -> None:
        self._connection = connection
        self._channel = channel
        self._owns_channel = owns_channel

    @property
    def identity(self) -> bytes:
        """The serialized identity (`msp.SerializedIdentity`) this gateway acts as."""
        return self._connection.creator

    @property
    def address(self) -> str:
        return self._connection.address

    def get_network(self, name: str) -> Network:
        """Channel `name` (no call is made until it is used)."""
        return Network(self._connection, name)

    def new_signed_proposal(self, proposal_bytes: bytes, signature: bytes) -> Proposal:
        """A proposal from `Proposal.bytes()` and a signature over its `digest()`."""
        proposed = decode(gateway_pb2.ProposedTransaction, proposal_bytes, "proposal bytes")
        proposal = decode(proposal_pb2.Proposal, proposed.proposal.proposal_bytes, "proposal")
        header = decode(common_pb2.Header, proposal.header, "proposal header")
        channel_header = decode(common_pb2.ChannelHeader, header.channel_header, "proposal channel header")
        proposed.proposal.signature = signature
        return Proposal(self._connection, str(channel_header.channel_id), proposed)

    def new_signed_transaction(self, transaction_bytes: bytes, signature: bytes) -> Transaction:
        """A transaction from `Transaction.bytes()` and a signature over its `digest()`."""
        prepared = decode(gateway_pb2.PreparedTransaction, transaction_bytes, "transaction bytes")
        prepared.envelope.signature = signature
        return Transaction(self._connection, prepared)

    def new_signed_commit(self, commit_bytes: bytes, signature: bytes) -> Commit:
        """A commit from `Commit.bytes()` and a signature over its `digest()`."""
        signed = decode(gateway_pb2.SignedCommitStatusRequest, commit_bytes, "commit bytes")
        request = decode(gateway_pb2.CommitStatusRequest, signed.request, "commit status request")
        signed.signature = signature
        return Commit(self._connection, signed, str(request.transaction_id), str(request.channel_id))

    def new_signed_chaincode_events_request(self, request_bytes: bytes, signature: bytes) -> ChaincodeEventsRequest:
        signed = decode(gateway_pb2.SignedChaincodeEventsRequest, request_bytes, "chaincode events request bytes")
        decode(gateway_pb2.ChaincodeEventsRequest, signed.request, "chaincode events request")
        signed.signature = signature
        return ChaincodeEventsRequest(self._connection, signed)

    def new_signed_block_events_request(self, request_bytes: bytes, signature: bytes) -> BlockEventsRequest:
        envelope = decode(common_pb2.Envelope, request_bytes, "block events request bytes")
        envelope.signature = signature
        return BlockEventsRequest(self._connection, envelope)

    def new_signed_filtered_block_events_request(self, request_bytes: bytes,
                                                 signature: bytes) -> FilteredBlockEventsRequest:
        envelope = decode(common_pb2.Envelope, request_bytes, "filtered block events request bytes")
        envelope.signature = signature
        return FilteredBlockEventsRequest(self._connection, envelope)

    def new_signed_block_and_private_data_events_request(self, request_bytes: bytes,
                                                         signature: bytes) -> BlockAndPrivateDataEventsRequest:
        envelope = decode(common_pb2.Envelope, request_bytes, "block and private data events request bytes")
        envelope.signature = signature
        return BlockAndPrivateDataEventsRequest(self._connection, envelope)

    def close(self) -> None:
        """Close the connection (ending its event streams), unless it was handed in."""
        if self._owns_channel:
            self._channel.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def connect(
    address: str | grpc.Channel,
    *,
    signer: MessageSigner | None = None,
    identity: bytes | None = None,
    tls_root_ca: bytes | None = None,
    client_cert: bytes | None = None,
    client_key: bytes | None = None,
    server_name: str | None = None,
    evaluate_timeout: float = Timeouts.evaluate,
    endorse_timeout: float = Timeouts.endorse,
    submit_timeout: float = Timeouts.submit,
    commit_status_timeout: float = Timeouts.commit_status,
) -> Gateway:
    """Connect to the gateway of the peer at `address` ("host:port") as `signer`.

    TLS when `tls_root_ca` (the PEM of the peer's TLS CA) is given, mutual TLS when
    `client_cert` and `client_key` are too; `server_name` overrides the host name the
    peer's certificate is checked against. `address` may instead be an open
    `grpc.Channel` to share between gateways, which `close()` then leaves open.
    Without a `signer`, give `identity` (serialized) and sign offline.
    """
    return Gateway(*open_connection(grpc, address, signer, identity, tls_root_ca, client_cert, client_key,
                                    server_name, Timeouts(evaluate_timeout, endorse_timeout, submit_timeout,
                                                          commit_status_timeout)))


def open_connection(kind: Any, address: Any, signer: MessageSigner | None, identity: bytes | None,
                    tls_root_ca: bytes | None, client_cert: bytes | None, client_key: bytes | None,
                    server_name: str | None, timeouts: Timeouts) -> tuple[Connection, Any, bool]:
    """The connection of a gateway, its gRPC channel, and whether the gateway owns (and
    closes) the channel: one opened to `address` with `kind` (the `grpc` module, or
    `grpc.aio`), or `address` itself when it is a channel already."""
    gateway_identity = GatewayIdentity(identity, signer)
    if not isinstance(address, str):
        return Connection(address, "the given channel", gateway_identity, timeouts), address, False
    options, credentials = channel_settings(address, tls_root_ca, client_cert, client_key, server_name)
    if credentials is None:
        channel = kind.insecure_channel(address, options=options)
    else:
        channel = kind.secure_channel(address, credentials, options=options)
    return Connection(channel, address, gateway_identity, timeouts), channel, True


def channel_settings(address: str, tls_root_ca: bytes | None, client_cert: bytes | None, client_key: bytes | None,
                     server_name: str | None) -> tuple[list[tuple[str, int | str]], grpc.ChannelCredentials | None]:
    """The options and credentials (None: no TLS) of a gRPC channel to the gateway at
    `address`; ConsortiaError when the TLS settings given do not fit together."""
    if not address:
        raise ConsortiaError("no gateway address given: expected HOST:PORT of a peer")
    if (client_cert is None) != (client_key is None):
        raise ConsortiaError("mutual TLS needs both a client certificate and its key; only one was given")
    if client_cert is not None and tls_root_ca is None:
        raise ConsortiaError("a client TLS certificate was given without the peer's TLS CA certificate (tls_root_ca)")
    options: list[tuple[str, int | str]] = list(OPTIONS)
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    if tls_root_ca is None:
        return options, None
    return options, grpc.ssl_channel_credentials(tls_root_ca, client_key, client_cert)
