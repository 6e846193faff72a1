"""A smart contract: the functions of one chaincode (or one named contract in it).

A chaincode may hold several contracts; Fabric's contract API routes "Name:function"
to the function of contract Name, and a bare "function" to the default contract.
Arguments and transient values may be `str` (sent as UTF-8) or `bytes`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2
from google.protobuf import timestamp_pb2

from consortia.client.commit import SubmittedTransaction
from consortia.client.connection import Connection
from consortia.client.errors import CommitError
from consortia.client.proposal import Proposal
from consortia.protoutil.proposal import create_proposal

Arg = str | bytes


def encode_arg(value: Arg, what: str) -> bytes:
    """An argument as the bytes sent: `str` as UTF-8, `bytes` as they are."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise TypeError(f"{what} must be str or bytes, not {type(value).__name__}")


def _encode_args(args: Sequence[Arg]) -> list[bytes]:
    if isinstance(args, (str, bytes)):
        raise TypeError("args must be a sequence of str or bytes (a tuple or list), not a single value")
    return [encode_arg(value, f"argument {index + 1}") for index, value in enumerate(args)]


def _encode_transient(transient: Mapping[str, Arg] | None) -> dict[str, bytes]:
    return {str(key): encode_arg(value, f"transient value {key!r}") for key, value in (transient or {}).items()}


def _timestamp(moment: dt.datetime) -> timestamp_pb2.Timestamp:
    if moment.tzinfo is None:
        raise ValueError(f"timestamp must carry its time zone (an aware datetime), got {moment.isoformat()}")
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(dt.UTC))
    return stamp


class Contract:
    """The functions of chaincode `chaincode_name` on one channel."""

    def __init__(self, connection: Connection, channel_id: str, chaincode_name: str,
                 contract_name: str | None = None) -> None:
        self._connection = connection
        self._channel_id = channel_id
        self._chaincode_name = chaincode_name
        self._contract_name = contract_name or ""

    @property
    def chaincode_name(self) -> str:
        return self._chaincode_name

    @property
    def contract_name(self) -> str:
        """The contract within the chaincode; empty for its default contract."""
        return self._contract_name

    def evaluate_transaction(self, name: str, *args: Arg) -> bytes:
        """Run function `name` on a peer and return its result: a query, nothing is recorded."""
        return self.evaluate(name, args)

    def submit_transaction(self, name: str, *args: Arg) -> bytes:
        """Run function `name`, have it endorsed, ordered and committed; return its result.

        EndorseError, SubmitError or CommitStatusError when a step fails; CommitError
        (with the validation code) when the transaction committed as invalid.
        """
        return self.submit(name, args)

    def evaluate(self, name: str, args: Sequence[Arg] = (), transient: Mapping[str, Arg] | None = None,
                 target_organizations: Iterable[str] | None = None, *, timestamp: dt.datetime | None = None) -> bytes:
        """Evaluate with transient data, or on a peer of one of `target_organizations`."""
        return self.new_proposal(name, args, transient, target_organizations, timestamp=timestamp).evaluate()

    def submit(self, name: str, args: Sequence[Arg] = (), transient: Mapping[str, Arg] | None = None,
               endorsing_organizations: Iterable[str] | None = None, *, init: bool = False,
               timestamp: dt.datetime | None = None) -> bytes:
        """Submit and wait for the commit; the result once committed as valid."""
        submitted = self.submit_async(name, args, transient, endorsing_organizations, init=init, timestamp=timestamp)
        status = submitted.get_status()
        if not status.successful:
            raise CommitError(status.transaction_id, status.code, status.code_name)
        return submitted.result

    def submit_async(self, name: str, args: Sequence[Arg] = (), transient: Mapping[str, Arg] | None = None,
                     endorsing_organizations: Iterable[str] | None = None, *,
                     init: bool = False, timestamp: dt.datetime | None = None) -> SubmittedTransaction:
        """Endorse and submit; return as soon as an orderer has the transaction."""
        proposal = self.new_proposal(name, args, transient, endorsing_organizations, init=init, timestamp=timestamp)
        return proposal.endorse().submit()

    def new_proposal(self, name: str, args: Sequence[Arg] = (), transient: Mapping[str, Arg] | None = None,
                     endorsing_organizations: Iterable[str] | None = None, *, init: bool = False,
                     timestamp: dt.datetime | None = None, nonce: bytes | None = None) -> Proposal:
        """A proposal to call function `name`, to evaluate or endorse step by step.

        `endorsing_organizations` (MSP ids) makes the gateway ask only peers of those
        organizations, as private data or state-based endorsement may need. `init`
        marks the call as the chaincode's initialization, which a definition with
        init-required demands before any other transaction (Fabric's `--isInit`).
        `timestamp` (an aware datetime; default: now) is the transaction time the
        chaincode reads; endorsing peers refuse one too far from their clock unless
        their network switched that check off (`proposal_time_window: 0`), as replays
        of dated scenarios need. `nonce` (default: 24 random bytes) fixes the
        transaction id with the signer's identity: a retry with the same nonce is the
        same transaction, which a channel commits at most once.
        """
        function = f"{self._contract_name}:{name}" if self._contract_name else name
        chaincode_args = [function.encode(), *_encode_args(args)]
        proposal, transaction_id = create_proposal(
            self._channel_id, self._chaincode_name, chaincode_args, self._connection.creator,
            transient=_encode_transient(transient), is_init=init,
            timestamp=None if timestamp is None else _timestamp(timestamp), nonce=nonce,
        )
        proposed = gateway_pb2.ProposedTransaction(
            transaction_id=transaction_id,
            proposal=proposal_pb2.SignedProposal(proposal_bytes=proposal.SerializeToString()),
            endorsing_organizations=list(endorsing_organizations or ()),
        )
        return Proposal(self._connection, self._channel_id, proposed)
