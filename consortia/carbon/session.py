"""The carbon market's users on a running network: who calls what, when, and what came of it.

A session reads the connection profile `consortia network up` writes, and connects each
user ("ProvGD/Officer", "Emitter/E1") to the gateway of its organization's first peer
(an organization without peers, like the auditors, uses a peer of an organization that
shares its channels).

A session reads its own writes: a commit is reported by the gateway that submitted it,
and another user's gateway peer may not have that block yet, so before a user calls
anything on a channel the session waits until that user's peer has committed the newest
block a transaction of the session went into there. Every call may carry the transaction time the contracts read
(`at`, Beijing time when no zone is given), so dated scenarios can be replayed on a
network whose peers have the proposal-timestamp check switched off.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from consortia.client import CommitError, Gateway, connect
from consortia.client.errors import GatewayError
from consortia.errors import ConsortiaError
from consortia.msp.layout import load_signing_identity

BEIJING = dt.timezone(dt.timedelta(hours=8), "CST")
# Longest wait for a peer to commit a block the session's transaction went into.
CATCH_UP_TIMEOUT = 30.0
# What the carbon-market contracts answer when they refuse a call: "ERR_X: why".
REFUSAL = re.compile(r"\bERR_[A-Z0-9_]+: [^\n]*")


class SessionError(ConsortiaError):
    """The session cannot connect a user: an unknown organization or user, or no peer to use."""


class Refused(ConsortiaError):
    """A call did not go through: the contract refused it (`code` ERR_...), or the
    transaction committed as invalid (`code` its validation code, e.g.
    ENDORSEMENT_POLICY_FAILURE), or a gateway or peer failed (`code` the gRPC status)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class Call:
    """One transaction to submit: `user` calls `function(*args)` of a chaincode at time
    `at`, endorsed by the peers the gateway plans, or by those of `endorsers` (MSP ids)."""

    user: str
    channel: str
    chaincode: str
    function: str
    args: tuple[object, ...] = ()
    at: str | dt.datetime | None = None
    transient: Mapping[str, bytes] | None = None
    endorsers: Iterable[str] | None = None


@dataclass(frozen=True)
class Outcome:
    """A committed transaction: its result (decoded JSON, or None), where it went and
    who endorsed it."""

    result: Any
    transaction_id: str
    block: int
    endorsers: list[str]


def moment(at: str | dt.datetime) -> dt.datetime:
    """`at` as an aware datetime: ISO text or a datetime, in Beijing time when it names no zone."""
    if isinstance(at, str):
        try:
            at = dt.datetime.fromisoformat(at)
        except ValueError:
            raise ValueError(f"expected an ISO date and time (2023-09-05T10:15), got {at!r}") from None
    return at if at.tzinfo is not None else at.replace(tzinfo=BEIJING)


def refusal(error: ConsortiaError) -> Refused:
    """What a failed call comes to: the contract's own `ERR_X: why` when a peer relayed one."""
    if isinstance(error, CommitError):
        return Refused(error.code_name, str(error))
    found = REFUSAL.search(str(error))
    if found:
        return Refused(found.group(0).split(":", 1)[0], found.group(0))
    code = error.code.name if isinstance(error, GatewayError) else type(error).__name__
    return Refused(code, str(error))


class Session:
    """Gateways of a running network's users, opened on first use and closed together."""

    def __init__(self, profile: Mapping[str, Any]) -> None:
        self._profile = profile
        self._gateways: dict[tuple[str, str], Gateway] = {}  # (user, peer address) -> its connection
        self._committed: dict[str, int] = {}  # channel -> newest block of this session's transactions
        self._seen: dict[tuple[str, str], int] = {}  # (peer address, channel) -> a block it has committed

    @classmethod
    def from_profile(cls, path: Path) -> Session:
        try:
            profile = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise SessionError(f"cannot read the connection profile {path}: {exc}") from exc
        return cls(profile)

    def submit(self, user: str, channel: str, chaincode: str, function: str, *args: object,
               at: str | dt.datetime | None = None, transient: Mapping[str, bytes] | None = None,
               endorsers: Iterable[str] | None = None) -> Outcome:
        """Submit `function(*args)` as `user` and wait for its commit; Refused otherwise.
        Arguments other than text are sent as JSON."""
        return self.submit_all([Call(user, channel, chaincode, function, args, at, transient, endorsers)])[0]

    def submit_all(self, calls: Iterable[Call]) -> list[Outcome]:
        """Endorse and submit every call, then wait for their commits, so that calls that
        do not depend on each other go into one block; Refused for the first that fails
        (the others may have committed)."""
        submitted = []
        for call in calls:
            contract = self.gateway(call.user).get_network(call.channel).get_contract(call.chaincode)
            try:
                self._catch_up(call.user, call.channel)
                endorsed = contract.new_proposal(call.function, _args(call.args), call.transient, call.endorsers,
                                                 timestamp=None if call.at is None else moment(call.at)).endorse()
                submitted.append((call, endorsed.endorsing_organizations, endorsed.submit()))
            except ConsortiaError as exc:
                raise refusal(exc) from exc
        outcomes = []
        for call, endorsers, transaction in submitted:
            try:
                status = transaction.get_status()
            except ConsortiaError as exc:
                raise refusal(exc) from exc
            self._committed[call.channel] = max(self._committed.get(call.channel, 0), status.block_number)
            self._saw(_address(self._peer_for(call.user)), call.channel, status.block_number)
            if not status.successful:
                raise refusal(CommitError(status.transaction_id, status.code, status.code_name))
            outcomes.append(Outcome(_decoded(transaction.result), status.transaction_id, status.block_number, endorsers))
        return outcomes

    def evaluate(self, user: str, channel: str, chaincode: str, function: str, *args: object,
                 at: str | dt.datetime | None = None, on: Iterable[str] | None = None) -> Any:
        """The decoded result of query `function(*args)` as `user`, on a peer of one of the
        organizations `on` (MSP ids; default: as the gateway chooses, the user's own
        first), as a read of private data must run on a member's peer; Refused otherwise."""
        contract = self.gateway(user).get_network(channel).get_contract(chaincode)
        on = list(on or ())
        try:
            self._catch_up(user, channel)
            for msp_id in on:  # the peer the evaluation will run on
                self._catch_up(user, channel, self._peer_of(msp_id))
            return _decoded(contract.evaluate(function, _args(args), target_organizations=on or None,
                                              timestamp=None if at is None else moment(at)))
        except ConsortiaError as exc:
            raise refusal(exc) from exc

    def _catch_up(self, user: str, channel: str, peer: Mapping[str, Any] | None = None) -> None:
        """Wait until `peer` (default: `user`'s gateway peer) has committed the newest
        block of this session's transactions on `channel`."""
        wanted = self._committed.get(channel)
        peer = peer or self._peer_for(user)
        address = _address(peer)
        if wanted is None or self._seen.get((address, channel), -1) >= wanted:
            return
        network = self._gateway_at(user, peer).get_network(channel)
        with network.get_filtered_block_events(start_block=wanted, timeout=CATCH_UP_TIMEOUT) as blocks:
            next(iter(blocks))
        self._saw(address, channel, wanted)

    def _saw(self, peer: str, channel: str, block: int) -> None:
        self._seen[peer, channel] = max(self._seen.get((peer, channel), -1), block)

    def gateway(self, user: str) -> Gateway:
        """`user`'s connection to its gateway peer."""
        return self._gateway_at(user, self._peer_for(user))

    def close(self) -> None:
        for gateway in self._gateways.values():
            gateway.close()
        self._gateways.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _gateway_at(self, user: str, peer: Mapping[str, Any]) -> Gateway:
        key = (user, _address(peer))
        if key not in self._gateways:
            org_name, _, user_name = user.partition("/")
            org = self._profile["organizations"][org_name]
            tls_ca = peer.get("tlsCACerts", {}).get("path")
            self._gateways[key] = connect(
                key[1],
                signer=load_signing_identity(org["users"][user_name]["mspDir"], org["mspid"]),
                tls_root_ca=Path(tls_ca).read_bytes() if tls_ca else None,
            )
        return self._gateways[key]

    def _peer_for(self, user: str) -> Mapping[str, Any]:
        """The gateway peer of `user`: its organization's first peer, or else the first
        peer of an organization that is in every channel its organization is in."""
        org_name, slash, user_name = user.partition("/")
        orgs, peers, channels = self._profile["organizations"], self._profile["peers"], self._profile["channels"]
        if not slash or org_name not in orgs:
            raise SessionError(f"expected a user as ORG/USER with one of the organizations {', '.join(orgs)}, "
                               f"got {user!r}")
        if user_name not in orgs[org_name]["users"]:
            raise SessionError(f"organization {org_name} has no user {user_name!r}; its users are "
                               f"{', '.join(orgs[org_name]['users'])}")
        if orgs[org_name].get("peers"):
            return peers[orgs[org_name]["peers"][0]]  # type: ignore[no-any-return]
        msp_id = orgs[org_name]["mspid"]
        mine = [c for c in channels.values() if msp_id in c["organizations"]]
        for name, peer in peers.items():
            if all(name in c["peers"] for c in mine):
                return peer  # type: ignore[no-any-return]
        raise SessionError(f"no peer serves every channel of organization {org_name}")

    def _peer_of(self, msp_id: str) -> Mapping[str, Any]:
        """The first peer of the organization with MSP id `msp_id`."""
        for org in self._profile["organizations"].values():
            if org["mspid"] == msp_id and org.get("peers"):
                return self._profile["peers"][org["peers"][0]]  # type: ignore[no-any-return]
        raise SessionError(f"no organization with MSP id {msp_id} runs a peer")


def _address(peer: Mapping[str, Any]) -> str:
    return str(peer["url"].split("://", 1)[1])


def _args(args: Iterable[object]) -> list[str]:
    return [a if isinstance(a, str) else json.dumps(a) for a in args]


def _decoded(result: bytes) -> Any:
    if not result:
        return None
    try:
        return json.loads(result)
    except ValueError:
        return result.decode(errors="replace")
