"""What every object obtained from one gateway shares: the gRPC stubs, the identity that
signs, and the default time limits of each kind of call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fabric_protos.gateway import gateway_pb2_grpc
from fabric_protos.peer import events_pb2_grpc

from consortia.client.signing import GatewayIdentity
from consortia.errors import ConsortiaError


@dataclass(frozen=True)
class Timeouts:
    """Default time limits, in seconds, of each kind of gateway call.

    Endorsing runs chaincode on several peers and committing waits for a block to be cut
    and validated, so those limits are generous; a call may set its own.
    """

    evaluate: float = 30.0
    endorse: float = 30.0
    submit: float = 30.0
    commit_status: float = 60.0

    def __post_init__(self) -> None:
        for name in ("evaluate", "endorse", "submit", "commit_status"):
            value = getattr(self, name)
            if not value > 0:
                raise ConsortiaError(f"the {name.replace('_', ' ')} timeout must be a positive number of seconds, got {value!r}")


class Connection:
    """The stubs of one gRPC channel to a peer (Gateway and Deliver), with who signs."""

    def __init__(self, channel: Any, address: str, identity: GatewayIdentity, timeouts: Timeouts) -> None:
        self.address = address
        self.identity = identity
        self.timeouts = timeouts
        self.gateway = gateway_pb2_grpc.GatewayStub(channel)
        self.deliver = events_pb2_grpc.DeliverStub(channel)

    @property
    def creator(self) -> bytes:
        """The serialized identity put in every request."""
        return self.identity.identity
