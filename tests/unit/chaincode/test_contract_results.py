"""Results: what a transaction returns becomes the same payload bytes on every endorser."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pytest

from chaincode.contract import Context, Contract, ContractChaincode, transaction
from chaincode.contract.results import serialize_result
from tests.unit.chaincode.fakes import FakeLedger

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Point:
    y: int
    x: int
    label: str | None = None


@pytest.mark.parametrize("value, payload", [
    (None, b""),
    ("", b""),
    ("hello", b"hello"),
    ("碳", "碳".encode()),
    (b"\x00\xff", b"\x00\xff"),
    (bytearray(b"ab"), b"ab"),
    (True, b"true"),
    (False, b"false"),
    (0, b"0"),
    (-42, b"-42"),
    (10**30, b"1000000000000000000000000000000"),
    (1.5, b"1.5"),
    ({"b": 1, "a": {"d": [1, 2], "c": None}}, b'{"a":{"c":null,"d":[1,2]},"b":1}'),
    ([3, "x", False], b'[3,"x",false]'),
    ((1, 2), b"[1,2]"),
    (Point(y=2, x=1), b'{"label":null,"x":1,"y":2}'),
    ([Point(1, 2, "p")], b'[{"label":"p","x":2,"y":1}]'),
    ({"p": Point(0, 0)}, b'{"p":{"label":null,"x":0,"y":0}}'),
    ({"名": "值"}, '{"名":"值"}'.encode()),
])
def test_serialization(value: object, payload: bytes) -> None:
    assert serialize_result(value) == payload


def test_key_order_does_not_change_the_bytes() -> None:
    first = {"z": 1, "a": 2, "m": {"y": 1, "b": 2}}
    second = {"a": 2, "m": {"b": 2, "y": 1}, "z": 1}
    assert serialize_result(first) == serialize_result(second) == b'{"a":2,"m":{"b":2,"y":1},"z":1}'


@pytest.mark.parametrize("value, message", [
    ({1, 2}, "result is a set, which has no JSON form"),
    ({"a": b"x"}, 'result["a"] is a bytes, which has no JSON form'),
    ({1: "a"}, "result has the key 1 (int); JSON object keys are strings"),
    ([math.nan], "result[0] is nan, which JSON cannot represent"),
    (math.inf, "result is inf, which JSON cannot represent"),
    (object(), "result is a object, which has no JSON form"),
])
def test_values_without_a_json_form_are_refused(value: object, message: str) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        serialize_result(value)
    assert str(info.value).startswith(message)


class Returns(Contract):
    @transaction(submit=False)
    def give(self, ctx: Context, kind: str) -> Any:
        return {"dict": {"b": 2, "a": 1}, "none": None, "set": {1}, "point": Point(1, 2),
                "int": 7, "bool": True, "text": "t"}[kind]


@pytest.mark.parametrize("kind, payload", [
    ("dict", b'{"a":1,"b":2}'),
    ("none", b""),
    ("point", b'{"label":null,"x":2,"y":1}'),
    ("int", b"7"),
    ("bool", b"true"),
    ("text", b"t"),
])
def test_results_through_the_chaincode(ledger: FakeLedger, kind: str, payload: bytes) -> None:
    response = ledger.invoke(ContractChaincode(Returns()), "give", kind)
    assert (response.status, response.payload) == (200, payload)


def test_unserializable_result_fails_the_transaction(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Returns()), "give", "set")
    assert response.status == 500
    assert response.message.startswith("TypeError: result is a set, which has no JSON form")
