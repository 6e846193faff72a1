"""An in-memory stand-in for the shim's ChaincodeStub, and a ledger that keeps its writes.

It behaves as a peer's simulation does where contracts can tell: reads see the state
committed before the transaction (never its own writes), range reads return keys in
order within [start, end) with '' leaving an end open, and writes reach the ledger
only when the transaction succeeds (`FakeLedger.invoke` commits on status 200).
Private data is kept the same way, one dict per collection, and committed with the
transaction; this peer is a member of every collection.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_event_pb2

from chaincode.shim.stub import MAX_UNICODE_RUNE, ChaincodeStub

OK = 200
TIMESTAMP = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.timezone.utc)
BEIJING = dt.timezone(dt.timedelta(hours=8))


def beijing(text: str) -> dt.datetime:
    """`2023-09-05T10:15` as a Beijing-time proposal timestamp (the carbon market's clock)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=BEIJING)


@dataclass(frozen=True)
class Parties:
    """Proposal creators (serialized identities) of each role, by name."""

    creators: dict[str, bytes]

    def __getitem__(self, name: str) -> bytes:
        return self.creators[name]


@dataclass(frozen=True)
class KV:
    key: str
    value: bytes


class FakeIterator:
    def __init__(self, items: list[KV]) -> None:
        self._items = items
        self.closed = False

    def __iter__(self) -> Iterator[KV]:
        return iter(self._items)

    def __enter__(self) -> FakeIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.closed = True


def _range(state: dict[str, bytes], start: str, end: str) -> FakeIterator:
    keys = sorted(k for k in state if (not start or k >= start) and (not end or k < end))
    return FakeIterator([KV(k, state[k]) for k in keys])


class FakeStub:
    create_composite_key = staticmethod(ChaincodeStub.create_composite_key)
    split_composite_key = staticmethod(ChaincodeStub.split_composite_key)

    def __init__(self, committed: dict[str, bytes], args: list[bytes], *, creator: bytes = b"",
                 transient: dict[str, bytes] | None = None, is_init: bool = False, tx_id: str = "0123456789abcdef",
                 channel_id: str = "testchannel", private: dict[str, dict[str, bytes]] | None = None,
                 private_policies: dict[str, dict[str, bytes]] | None = None,
                 policies: dict[str, bytes] | None = None, timestamp: dt.datetime = TIMESTAMP,
                 history: dict[str, list[kv_query_result_pb2.KeyModification]] | None = None) -> None:
        self._committed = committed
        self._history = history if history is not None else {}
        self._policies = policies if policies is not None else {}
        self._timestamp = timestamp
        self._private = private if private is not None else {}
        self._private_policies = private_policies if private_policies is not None else {}
        self._args = args
        self._creator = creator
        self._transient = dict(transient or {})
        self._is_init = is_init
        self.tx_id = tx_id
        self.channel_id = channel_id
        self.writes: dict[str, bytes | None] = {}  # None: deleted
        self.private_writes: dict[str, dict[str, bytes | None]] = {}  # collection -> key -> value, None: deleted
        self.private_policy_writes: dict[str, dict[str, bytes]] = {}
        self.policy_writes: dict[str, bytes] = {}  # key-level endorsement policies set
        self.event: chaincode_event_pb2.ChaincodeEvent | None = None
        self.calls: list[str] = []  # stub methods called, in order

    def get_args(self) -> list[bytes]:
        return list(self._args)

    def get_string_args(self) -> list[str]:
        return [a.decode(errors="replace") for a in self._args]

    def get_function_and_parameters(self) -> tuple[str, list[str]]:
        args = self.get_string_args()
        return (args[0], args[1:]) if args else ("", [])

    def is_init(self) -> bool:
        return self._is_init

    def get_creator(self) -> bytes:
        self.calls.append("get_creator")
        return self._creator

    def get_transient(self) -> dict[str, bytes]:
        return dict(self._transient)

    def get_tx_timestamp(self) -> dt.datetime:
        return self._timestamp

    def get_state(self, key: str, collection: str = "") -> bytes:
        self.calls.append(f"get_state {key}")
        return self._committed.get(key, b"")

    def put_state(self, key: str, value: bytes, collection: str = "") -> None:
        self.calls.append(f"put_state {key}")
        assert isinstance(value, bytes), f"put_state needs bytes, got {type(value).__name__}"
        self.writes[key] = value

    def del_state(self, key: str, collection: str = "") -> None:
        self.calls.append(f"del_state {key}")
        self.writes[key] = None

    def get_state_by_range(self, start: str, end: str) -> FakeIterator:
        return _range(self._committed, start, end)

    def get_state_by_partial_composite_key(self, object_type: str, attributes: Sequence[str]) -> FakeIterator:
        prefix = self.create_composite_key(object_type, attributes)
        return _range(self._committed, prefix, prefix + MAX_UNICODE_RUNE)

    def get_history_for_key(self, key: str) -> FakeIterator:
        """Committed modifications of `key`, newest first (as Fabric 2.x returns them)."""
        self.calls.append("get_history_for_key")
        return FakeIterator(list(reversed(self._history.get(key, []))))  # type: ignore[arg-type]

    def get_state_validation_parameter(self, key: str) -> bytes:
        return self._policies.get(key, b"")

    def set_state_validation_parameter(self, key: str, policy: bytes) -> None:
        self.calls.append(f"set_state_validation_parameter {key}")
        self.policy_writes[key] = policy

    def set_event(self, name: str, payload: bytes = b"") -> None:
        self.event = chaincode_event_pb2.ChaincodeEvent(event_name=name, payload=payload, tx_id=self.tx_id)

    # ----- private data: the committed values of each collection, as public reads

    def get_private_data(self, collection: str, key: str) -> bytes:
        self.calls.append(f"get_private_data {collection} {key}")
        return self._private.get(collection, {}).get(key, b"")

    def get_private_data_multiple(self, collection: str, keys: Sequence[str]) -> list[bytes]:
        return [self.get_private_data(collection, key) for key in keys]

    def get_private_data_hash(self, collection: str, key: str) -> bytes:
        self.calls.append(f"get_private_data_hash {collection} {key}")
        value = self._private.get(collection, {}).get(key)
        return hashlib.sha256(value).digest() if value is not None else b""

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        self.calls.append(f"put_private_data {collection} {key}")
        assert isinstance(value, bytes), f"put_private_data needs bytes, got {type(value).__name__}"
        self.private_writes.setdefault(collection, {})[key] = value

    def del_private_data(self, collection: str, key: str) -> None:
        self.calls.append(f"del_private_data {collection} {key}")
        self.private_writes.setdefault(collection, {})[key] = None

    def purge_private_data(self, collection: str, key: str) -> None:
        self.calls.append(f"purge_private_data {collection} {key}")
        self.private_writes.setdefault(collection, {})[key] = None

    def get_private_data_by_range(self, collection: str, start: str, end: str) -> FakeIterator:
        return _range(self._private.get(collection, {}), start, end)

    def get_private_data_by_partial_composite_key(self, collection: str, object_type: str,
                                                  attributes: Sequence[str]) -> FakeIterator:
        prefix = self.create_composite_key(object_type, attributes)
        return _range(self._private.get(collection, {}), prefix, prefix + MAX_UNICODE_RUNE)

    def get_private_data_validation_parameter(self, collection: str, key: str) -> bytes:
        return self._private_policies.get(collection, {}).get(key, b"")

    def set_private_data_validation_parameter(self, collection: str, key: str, policy: bytes) -> None:
        self.private_policy_writes.setdefault(collection, {})[key] = policy


def encode(args: tuple[str | bytes, ...]) -> list[bytes]:
    return [a.encode() if isinstance(a, str) else a for a in args]


@dataclass
class FakeLedger:
    """Committed state; `invoke` runs one transaction and keeps its writes if it succeeded."""

    state: dict[str, bytes] = field(default_factory=dict)
    private: dict[str, dict[str, bytes]] = field(default_factory=dict)  # collection -> key -> value
    private_policies: dict[str, dict[str, bytes]] = field(default_factory=dict)
    policies: dict[str, bytes] = field(default_factory=dict)  # key-level endorsement policies
    history: dict[str, list[kv_query_result_pb2.KeyModification]] = field(default_factory=dict)  # oldest first
    last: FakeStub | None = None
    transactions: int = 0

    def stub(self, *args: str | bytes, creator: bytes = b"", transient: dict[str, bytes] | None = None,
             is_init: bool = False, timestamp: dt.datetime = TIMESTAMP) -> FakeStub:
        self.transactions += 1
        return FakeStub(self.state, encode(args), creator=creator, transient=transient, is_init=is_init,
                        private=self.private, private_policies=self.private_policies, policies=self.policies,
                        timestamp=timestamp, history=self.history, tx_id=f"tx{self.transactions:04d}")

    def invoke(self, chaincode: Any, *args: str | bytes, creator: bytes = b"",
               transient: dict[str, bytes] | None = None, init: bool = False,
               timestamp: dt.datetime = TIMESTAMP) -> Any:
        stub = self.stub(*args, creator=creator, transient=transient, is_init=init, timestamp=timestamp)
        response = chaincode.init(stub) if init else chaincode.invoke(stub)
        if response.status == OK:
            _apply(self.state, stub.writes)
            for key, value in stub.writes.items():
                modification = kv_query_result_pb2.KeyModification(tx_id=stub.tx_id, value=value or b"",
                                                                   is_delete=value is None)
                modification.timestamp.FromDatetime(timestamp.astimezone(dt.UTC))
                self.history.setdefault(key, []).append(modification)
            self.policies.update(stub.policy_writes)
            for collection, policies in stub.private_policy_writes.items():
                self.private_policies.setdefault(collection, {}).update(policies)
            for collection, writes in stub.private_writes.items():
                _apply(self.private.setdefault(collection, {}), writes)
                for key in (k for k, v in writes.items() if v is None):  # a deleted key loses its policy
                    self.private_policies.get(collection, {}).pop(key, None)
        self.last = stub
        return response


def _apply(state: dict[str, bytes], writes: dict[str, bytes | None]) -> None:
    for key, value in writes.items():
        if value is None:
            state.pop(key, None)
        else:
            state[key] = value


def json_args(args: Sequence[object]) -> list[str]:
    """Call arguments as the contract API takes them: text as it is, anything else as JSON."""
    return [a if isinstance(a, str) else json.dumps(a) for a in args]


class ContractOnLedger:
    """A contract chaincode on a fake ledger: call its functions as a party, at a time
    (Beijing, the carbon market's clock). `prefix` names the contract for chaincodes whose
    functions are all in one ("mrv:")."""

    prefix = ""
    at = "2023-09-05T10:00"  # when a call names no time

    def __init__(self, cc: Any, parties: Any) -> None:
        self.cc = cc
        self.parties = parties
        self.ledger = FakeLedger()

    def invoke(self, who: str, function: str, *args: object, at: str | None = None,
               transient: dict[str, bytes] | None = None) -> Any:
        """The chaincode's response to one call, whatever it is."""
        return self.ledger.invoke(self.cc, self.prefix + function, *json_args(args), creator=self.parties[who],
                                  transient=transient, timestamp=beijing(at or self.at))

    def call(self, who: str, function: str, *args: object, at: str | None = None,
             transient: dict[str, bytes] | None = None) -> Any:
        """The result (decoded JSON, or None) of a successful call; AssertionError otherwise."""
        response = self.invoke(who, function, *args, at=at, transient=transient)
        assert response.status == OK, response.message
        return json.loads(response.payload) if response.payload else None

    def refused(self, who: str, function: str, *args: object, at: str | None = None,
                transient: dict[str, bytes] | None = None) -> str:
        """The message of a refused call (`CODE: message`); the ledger, its policies and
        its private data are unchanged."""
        return self.attempt(who, function, *args, at=at, transient=transient, expect_refusal=True)[1]

    def attempt(self, who: str, function: str, *args: object, at: str | None = None,
                transient: dict[str, bytes] | None = None, expect_refusal: bool = False) -> tuple[bool, str]:
        """(accepted, "ok" or the refusal's message) of a call that may go either way; a
        refusal carries one of the contract's ERR_ codes and leaves the ledger as it was."""
        ledger = self.ledger
        before = (dict(ledger.state), dict(ledger.policies), {c: dict(kv) for c, kv in ledger.private.items()})
        response = self.invoke(who, function, *args, at=at, transient=transient)
        if response.status == OK:
            assert not expect_refusal, f"{function} was accepted"
            return True, "ok"
        assert (ledger.state, ledger.policies, ledger.private) == before, f"refused {function} changed the ledger"
        assert str(response.message).startswith("ERR_"), response.message
        return False, str(response.message)

    def event(self) -> tuple[str, Any]:
        stub = self.ledger.last
        assert stub is not None and stub.event is not None, "no event"
        return stub.event.event_name, json.loads(stub.event.payload)
