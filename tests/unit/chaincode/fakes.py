"""An in-memory stand-in for the shim's ChaincodeStub, and a ledger that keeps its writes.

It behaves as a peer's simulation does where contracts can tell: reads see the state
committed before the transaction (never its own writes), range reads return keys in
order within [start, end) with '' leaving an end open, and writes reach the ledger
only when the transaction succeeds (`FakeLedger.invoke` commits on status 200).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from fabric_protos.peer import chaincode_event_pb2

OK = 200
TIMESTAMP = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.timezone.utc)


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


class FakeStub:
    def __init__(self, committed: dict[str, bytes], args: list[bytes], *, creator: bytes = b"",
                 transient: dict[str, bytes] | None = None, is_init: bool = False, tx_id: str = "0123456789abcdef",
                 channel_id: str = "testchannel") -> None:
        self._committed = committed
        self._args = args
        self._creator = creator
        self._transient = dict(transient or {})
        self._is_init = is_init
        self.tx_id = tx_id
        self.channel_id = channel_id
        self.writes: dict[str, bytes | None] = {}  # None: deleted
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
        return TIMESTAMP

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
        keys = sorted(k for k in self._committed if (not start or k >= start) and (not end or k < end))
        return FakeIterator([KV(k, self._committed[k]) for k in keys])

    def set_event(self, name: str, payload: bytes = b"") -> None:
        self.event = chaincode_event_pb2.ChaincodeEvent(event_name=name, payload=payload, tx_id=self.tx_id)


def encode(args: tuple[str | bytes, ...]) -> list[bytes]:
    return [a.encode() if isinstance(a, str) else a for a in args]


@dataclass
class FakeLedger:
    """Committed state; `invoke` runs one transaction and keeps its writes if it succeeded."""

    state: dict[str, bytes] = field(default_factory=dict)
    last: FakeStub | None = None

    def stub(self, *args: str | bytes, creator: bytes = b"", transient: dict[str, bytes] | None = None,
             is_init: bool = False) -> FakeStub:
        return FakeStub(self.state, encode(args), creator=creator, transient=transient, is_init=is_init)

    def invoke(self, chaincode: Any, *args: str | bytes, creator: bytes = b"",
               transient: dict[str, bytes] | None = None, init: bool = False) -> Any:
        stub = self.stub(*args, creator=creator, transient=transient, is_init=init)
        response = chaincode.init(stub) if init else chaincode.invoke(stub)
        if response.status == OK:
            for key, value in stub.writes.items():
                if value is None:
                    self.state.pop(key, None)
                else:
                    self.state[key] = value
        self.last = stub
        return response
