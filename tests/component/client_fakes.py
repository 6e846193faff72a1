"""Stand-in Gateway and Deliver services for testing `consortia.client` on loopback.

They answer as a Fabric peer does — endorsements really signed with `consortia.protoutil`,
failures as gRPC statuses carrying `gateway.ErrorDetail`s in the
`grpc-status-details-bin` trailer — and keep every request, so that tests can check
what the client sent (and verify its signatures) themselves.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.peer import (
    chaincode_pb2,
    events_pb2,
    events_pb2_grpc,
    proposal_response_pb2,
)
from google.rpc import status_pb2

from consortia.msp.signing import SigningIdentity
from consortia.protoutil.proposal import unpack_proposal
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import create_transaction_payload

STREAM_WAIT = 30.0  # seconds a stream stays open after its events, unless cancelled


@dataclass(frozen=True)
class Failure:
    """How a call fails: a status code, a message, and what each node said."""

    code: grpc.StatusCode
    message: str
    details: Sequence[gateway_pb2.ErrorDetail] = ()


def abort(context: grpc.ServicerContext, failure: Failure) -> None:
    """Fail the call as Fabric's gateway does: details packed in a google.rpc.Status trailer."""
    status = status_pb2.Status(code=failure.code.value[0], message=failure.message)
    for detail in failure.details:
        status.details.add().Pack(detail)
    context.set_trailing_metadata((("grpc-status-details-bin", status.SerializeToString()),))
    context.abort(failure.code, failure.message)


def wait_until_cancelled(context: grpc.ServicerContext) -> None:
    done = threading.Event()
    context.add_callback(done.set)
    done.wait(STREAM_WAIT)


@dataclass
class FakeGateway(gateway_pb2_grpc.GatewayServicer):
    """A gateway whose answers and failures a test sets."""

    endorser: SigningIdentity
    result: bytes = b"result"
    commit_code: int = 0  # VALID
    commit_block: int = 7
    chaincode_events: list[gateway_pb2.ChaincodeEventsResponse] = field(default_factory=list)
    failures: dict[str, Failure] = field(default_factory=dict)
    requests: dict[str, list[Any]] = field(default_factory=dict)

    def _record(self, method: str, request: Any, context: grpc.ServicerContext) -> None:
        self.requests.setdefault(method, []).append(request)
        if method in self.failures:
            abort(context, self.failures[method])

    def Evaluate(self, request: gateway_pb2.EvaluateRequest, context: grpc.ServicerContext) -> Any:
        self._record("Evaluate", request, context)
        return gateway_pb2.EvaluateResponse(result=proposal_response_pb2.Response(status=200, payload=self.result))

    def Endorse(self, request: gateway_pb2.EndorseRequest, context: grpc.ServicerContext) -> Any:
        self._record("Endorse", request, context)
        proposal = unpack_proposal(request.proposed_transaction)
        response = create_proposal_response(
            proposal,
            results=b"",
            response=proposal_response_pb2.Response(status=200, payload=self.result),
            chaincode_id=chaincode_pb2.ChaincodeID(name=proposal.chaincode),
            endorser=self.endorser,
        )
        payload = create_transaction_payload(proposal, [response])
        return gateway_pb2.EndorseResponse(prepared_transaction=common_pb2.Envelope(payload=payload))

    def Submit(self, request: gateway_pb2.SubmitRequest, context: grpc.ServicerContext) -> Any:
        self._record("Submit", request, context)
        return gateway_pb2.SubmitResponse()

    def CommitStatus(self, request: gateway_pb2.SignedCommitStatusRequest, context: grpc.ServicerContext) -> Any:
        self._record("CommitStatus", request, context)
        return gateway_pb2.CommitStatusResponse(result=self.commit_code, block_number=self.commit_block)

    def ChaincodeEvents(self, request: gateway_pb2.SignedChaincodeEventsRequest,
                        context: grpc.ServicerContext) -> Iterator[Any]:
        self._record("ChaincodeEvents", request, context)
        yield from self.chaincode_events
        wait_until_cancelled(context)


@dataclass
class FakeDeliver(events_pb2_grpc.DeliverServicer):
    """A peer's Deliver service with a fixed list of blocks, or a refusal."""

    blocks: list[common_pb2.Block] = field(default_factory=list)
    filtered: list[events_pb2.FilteredBlock] = field(default_factory=list)
    refuse: int | None = None  # a common.Status to answer with instead of blocks
    requests: list[tuple[str, common_pb2.Envelope]] = field(default_factory=list)

    def _serve(self, method: str, requests: Iterator[common_pb2.Envelope], context: grpc.ServicerContext,
               responses: list[events_pb2.DeliverResponse]) -> Iterator[events_pb2.DeliverResponse]:
        self.requests.append((method, next(requests)))
        if self.refuse is not None:
            yield events_pb2.DeliverResponse(status=self.refuse)
            return
        yield from responses
        wait_until_cancelled(context)

    def Deliver(self, requests: Iterator[common_pb2.Envelope], context: grpc.ServicerContext) -> Iterator[Any]:
        yield from self._serve("Deliver", requests, context, [events_pb2.DeliverResponse(block=b) for b in self.blocks])

    def DeliverFiltered(self, requests: Iterator[common_pb2.Envelope],
                        context: grpc.ServicerContext) -> Iterator[Any]:
        responses = [events_pb2.DeliverResponse(filtered_block=b) for b in self.filtered]
        yield from self._serve("DeliverFiltered", requests, context, responses)


@contextmanager
def serve(gateway: FakeGateway | None = None, deliver: FakeDeliver | None = None,
          credentials: grpc.ServerCredentials | None = None, port: int = 0) -> Iterator[str]:
    """Run the fakes on a loopback port; yields "127.0.0.1:PORT"."""
    server = grpc.server(ThreadPoolExecutor(max_workers=8))
    if gateway is not None:
        gateway_pb2_grpc.add_GatewayServicer_to_server(gateway, server)
    if deliver is not None:
        events_pb2_grpc.add_DeliverServicer_to_server(deliver, server)
    address = f"127.0.0.1:{port}"
    bound = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    server.start()
    try:
        yield f"127.0.0.1:{bound}"
    finally:
        server.stop(grace=None)
