"""Arguments: every supported type hint, what it accepts and what it refuses, and the messages.

All through the chaincode: the router must turn a mismatch into status 500 with
`ERR_INVALID_ARGUMENT: <transaction>: argument '<name>' must be <expected>, got <found>`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, NewType, Optional

import pytest

from chaincode.contract import Context, Contract, ContractChaincode, transaction
from tests.unit.chaincode.fakes import FakeLedger

pytestmark = pytest.mark.unit

EntityId = NewType("EntityId", str)


@dataclass(frozen=True)
class Holding:
    account: str
    quantity: int


@dataclass(frozen=True)
class Order:
    order_id: str
    price: float
    holdings: list[Holding]
    tags: dict[str, int] = field(default_factory=dict)
    note: str | None = None
    extra: Any = None


@dataclass(frozen=True)
class Positive:
    amount: int

    def __post_init__(self) -> None:
        if self.amount <= 0:
            raise ValueError("amount must be positive")


class Echo(Contract):
    """Each transaction returns what it received, with its Python type, as JSON."""

    @transaction
    def text(self, ctx: Context, value: str) -> list[Any]:
        return [value, type(value).__name__]

    @transaction
    def integer(self, ctx: Context, value: int) -> list[Any]:
        return [value, type(value).__name__]

    @transaction
    def number(self, ctx: Context, value: float) -> list[Any]:
        return [value, type(value).__name__]

    @transaction
    def flag(self, ctx: Context, value: bool) -> list[Any]:
        return [value, type(value).__name__]

    @transaction
    def raw(self, ctx: Context, value: bytes) -> bytes:
        assert isinstance(value, bytes)
        return value

    @transaction
    def maybe(self, ctx: Context, value: int | None) -> list[Any]:
        return [value, type(value).__name__]

    @transaction
    def maybe_old_style(self, ctx: Context, value: Optional[str]) -> list[Any]:  # noqa: UP045
        return [value, type(value).__name__]

    @transaction
    def entity(self, ctx: Context, value: EntityId) -> str:
        return value

    @transaction
    def order(self, ctx: Context, value: Order) -> list[Any]:
        assert isinstance(value, Order) and all(isinstance(h, Holding) for h in value.holdings)
        return [value, type(value.price).__name__]

    @transaction
    def positive(self, ctx: Context, value: Positive) -> int:
        return value.amount

    @transaction
    def mapping(self, ctx: Context, value: dict[str, int]) -> dict[str, int]:
        return value

    @transaction
    def anything(self, ctx: Context, value: dict) -> dict:  # type: ignore[type-arg]
        return value

    @transaction
    def items(self, ctx: Context, value: list[str]) -> list[str]:
        return value

    @transaction
    def pair(self, ctx: Context, asset_id: str, amount: int) -> list[Any]:
        return [asset_id, amount]

    @transaction
    def defaults(self, ctx: Context, first: str, second: int = 7) -> list[Any]:
        return [first, second]

    @transaction
    def nothing(self, ctx: Context) -> str:
        return "ok"


@pytest.fixture(scope="module")
def cc() -> ContractChaincode:
    return ContractChaincode(Echo())


def ok(cc: ContractChaincode, *args: str | bytes) -> Any:
    response = FakeLedger().invoke(cc, *args)
    assert response.status == 200, response.message
    return json.loads(response.payload)


def refused(cc: ContractChaincode, *args: str | bytes) -> str:
    response = FakeLedger().invoke(cc, *args)
    assert response.status == 500, response.payload
    assert response.payload == b""
    message: str = response.message
    assert message.startswith("ERR_INVALID_ARGUMENT: ")
    return message.removeprefix("ERR_INVALID_ARGUMENT: ")


# ----- str, bytes ----------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "plain", "with spaces ", "碳排放", "12", "true", '{"a":1}'])
def test_str_is_the_text_as_sent(cc: ContractChaincode, text: str) -> None:
    assert ok(cc, "text", text) == [text, "str"]


def test_str_must_be_utf8(cc: ContractChaincode) -> None:
    assert refused(cc, "text", b"\xff\x00") == "text: argument 'value' must be a string in UTF-8, got b'\\xff\\x00'"


def test_bytes_are_the_argument_exactly(ledger: FakeLedger, cc: ContractChaincode) -> None:
    raw = bytes(range(256))
    response = ledger.invoke(cc, "raw", raw)
    assert (response.status, response.payload) == (200, raw)


# ----- int -----------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [("0", 0), ("-3", -3), ("42", 42), ("-0", 0),
                                         ("123456789012345678901234567890", 123456789012345678901234567890)])
def test_int_accepts_json_integers(cc: ContractChaincode, text: str, value: int) -> None:
    assert ok(cc, "integer", text) == [value, "int"]


@pytest.mark.parametrize("text", ["1.5", "abc", "ten", "true", "false", "", " 3", "3 ", "+3", "1_000", "007",
                                  "1e3", "٣", "0x10", "--1"])
def test_int_refuses_everything_else(cc: ContractChaincode, text: str) -> None:
    assert refused(cc, "integer", text) == f"integer: argument 'value' must be an integer, got {text!r}"


def test_int_message_matches_the_documented_example() -> None:
    class Bank(Contract):
        @transaction
        def transfer(self, ctx: Context, to: str, amount: int) -> None: ...

    response = FakeLedger().invoke(ContractChaincode(Bank()), "transfer", "bob", "ten")
    assert response.message == "ERR_INVALID_ARGUMENT: transfer: argument 'amount' must be an integer, got 'ten'"


def test_long_values_are_cut_short_in_messages(cc: ContractChaincode) -> None:
    message = refused(cc, "integer", "x" * 1000)
    assert message == f"integer: argument 'value' must be an integer, got {'x' * 60 + '...'!r}"


# ----- float, bool -------------------------------------------------------------------------


@pytest.mark.parametrize("text, value", [("1.5", 1.5), ("-2", -2.0), ("0", 0.0), ("1e3", 1000.0), ("2.5E-1", 0.25)])
def test_float_accepts_json_numbers(cc: ContractChaincode, text: str, value: float) -> None:
    assert ok(cc, "number", text) == [value, "float"]


@pytest.mark.parametrize("text", ["NaN", "nan", "inf", "Infinity", "-Infinity", "1e999", "abc", "1.", ".5", "",
                                  "true", "1,5"])
def test_float_refuses_non_numbers_and_non_finite(cc: ContractChaincode, text: str) -> None:
    assert refused(cc, "number", text) == f"number: argument 'value' must be a finite number, got {text!r}"


@pytest.mark.parametrize("text, value", [("true", True), ("false", False)])
def test_bool_accepts_true_and_false(cc: ContractChaincode, text: str, value: bool) -> None:
    assert ok(cc, "flag", text) == [value, "bool"]


@pytest.mark.parametrize("text", ["True", "FALSE", "1", "0", "yes", "", " true"])
def test_bool_refuses_other_spellings(cc: ContractChaincode, text: str) -> None:
    assert refused(cc, "flag", text) == f"flag: argument 'value' must be true or false, got {text!r}"


# ----- X | None, NewType -------------------------------------------------------------------


def test_optional_is_none_when_empty(cc: ContractChaincode) -> None:
    assert ok(cc, "maybe", "") == [None, "NoneType"]
    assert ok(cc, "maybe", "5") == [5, "int"]
    assert ok(cc, "maybe_old_style", "") == [None, "NoneType"]
    assert ok(cc, "maybe_old_style", "x") == ["x", "str"]


def test_optional_refuses_a_wrong_value(cc: ContractChaincode) -> None:
    assert refused(cc, "maybe", "five") == "maybe: argument 'value' must be an integer, got 'five'"


def test_newtype_is_read_as_its_base(cc: ContractChaincode, ledger: FakeLedger) -> None:
    assert ledger.invoke(cc, "entity", "E-1").payload == b"E-1"


# ----- dataclasses ---------------------------------------------------------------------------


def test_dataclass_is_built_from_a_json_object(cc: ContractChaincode) -> None:
    order = {"order_id": "o1", "price": 12, "holdings": [{"account": "a", "quantity": 3}],
             "tags": {"x": 1}, "note": None, "extra": {"free": ["form"]}}
    result = ok(cc, "order", json.dumps(order))
    assert result == [{**order, "price": 12.0}, "float"]  # an integer is a valid float


def test_dataclass_fields_with_defaults_may_be_left_out(cc: ContractChaincode) -> None:
    result = ok(cc, "order", '{"order_id": "o2", "price": 1.5, "holdings": []}')
    assert result[0] == {"order_id": "o2", "price": 1.5, "holdings": [], "tags": {}, "note": None, "extra": None}


@pytest.mark.parametrize("payload, message", [
    ('["o1"]', "argument 'value' must be a JSON object (Order), got [\"o1\"]"),
    ('"o1"', "argument 'value' must be a JSON object (Order), got \"o1\""),
    ('{"order_id": 5, "price": 1, "holdings": []}', "argument 'value.order_id' must be a string, got 5"),
    ('{"order_id": "o", "price": "1", "holdings": []}',
     "argument 'value.price' must be a finite number, got \"1\""),
    ('{"order_id": "o", "price": true, "holdings": []}', "argument 'value.price' must be a finite number, got true"),
    ('{"order_id": "o", "price": 1, "holdings": [{"account": "a", "quantity": 1.5}]}',
     "argument 'value.holdings[0].quantity' must be an integer, got 1.5"),
    ('{"order_id": "o", "price": 1, "holdings": [{"account": "a", "quantity": true}]}',
     "argument 'value.holdings[0].quantity' must be an integer, got true"),
    ('{"order_id": "o", "price": 1, "holdings": {}}', "argument 'value.holdings' must be a JSON array, got {}"),
    ('{"order_id": "o", "price": 1, "holdings": [], "tags": {"k": "v"}}',
     "argument 'value.tags[\"k\"]' must be an integer, got \"v\""),
    ('{"order_id": "o", "price": 1, "holdings": [], "note": 3}',
     "argument 'value.note' must be a string or null, got 3"),
    ('{"order_id": "o", "price": 1}', "argument 'value' must be a JSON object (Order) with field \"holdings\", got an object without it"),
    ('{"order_id": "o", "price": 1, "holdings": [], "colour": "red"}',
     "argument 'value' must be a JSON object (Order) with fields extra, holdings, note, order_id, price, tags, "
     "got unknown field \"colour\""),
])
def test_dataclass_mismatches_say_where(cc: ContractChaincode, payload: str, message: str) -> None:
    assert refused(cc, "order", payload) == f"order: {message}"


def test_dataclass_own_checks_are_reported_for_the_argument(cc: ContractChaincode) -> None:
    assert ok(cc, "positive", '{"amount": 2}') == 2
    assert refused(cc, "positive", '{"amount": 0}') == (
        "positive: argument 'value' must be a valid Positive, got {\"amount\": 0} (amount must be positive)")


@pytest.mark.parametrize("payload, reason", [
    ("{not json", "Expecting property name enclosed in double quotes"),
    ("", "Expecting value"),
    ('{"amount": NaN}', "NaN is not a JSON number"),
    ('{"amount": 1, "amount": 2}', 'key "amount" appears twice'),
])
def test_invalid_json_is_refused_with_the_reason(cc: ContractChaincode, payload: str, reason: str) -> None:
    message = refused(cc, "positive", payload)
    assert message == f"positive: argument 'value' must be a JSON object (Positive), got {payload!r} (not valid JSON: {reason})"


# ----- dict and list ------------------------------------------------------------------------


def test_dict_and_list_are_json_of_that_type(cc: ContractChaincode) -> None:
    assert ok(cc, "mapping", '{"b": 2, "a": 1}') == {"a": 1, "b": 2}
    assert ok(cc, "anything", '{"any": [1, "x", null]}') == {"any": [1, "x", None]}
    assert ok(cc, "items", '["x", "y"]') == ["x", "y"]


def test_dict_and_list_check_the_top_level_type(cc: ContractChaincode) -> None:
    assert refused(cc, "mapping", "[1]") == "mapping: argument 'value' must be a JSON object, got [1]"
    assert refused(cc, "anything", '"text"') == "anything: argument 'value' must be a JSON object, got \"text\""
    assert refused(cc, "items", '{"a": 1}') == "items: argument 'value' must be a JSON array, got {\"a\": 1}"


def test_dict_and_list_check_their_items(cc: ContractChaincode) -> None:
    assert refused(cc, "mapping", '{"a": "1"}') == "mapping: argument 'value[\"a\"]' must be an integer, got \"1\""
    assert refused(cc, "items", '["x", 2]') == "items: argument 'value[1]' must be a string, got 2"


# ----- argument count -------------------------------------------------------------------------


def test_too_few_and_too_many_arguments(cc: ContractChaincode) -> None:
    assert refused(cc, "pair", "a1") == "pair: expected 2 arguments (asset_id, amount), got 1"
    assert refused(cc, "pair", "a1", "1", "x") == "pair: expected 2 arguments (asset_id, amount), got 3"
    assert refused(cc, "nothing", "x") == "nothing: expected 0 arguments (none), got 1"
    assert refused(cc, "integer") == "integer: expected 1 argument (value), got 0"


def test_parameters_with_defaults_may_be_left_off(cc: ContractChaincode) -> None:
    assert ok(cc, "defaults", "a") == ["a", 7]
    assert ok(cc, "defaults", "a", "8") == ["a", 8]
    assert refused(cc, "defaults") == "defaults: expected 1 to 2 arguments (first, second), got 0"


def test_the_first_bad_argument_is_named(cc: ContractChaincode) -> None:
    assert refused(cc, "pair", "a1", "1.0") == "pair: argument 'amount' must be an integer, got '1.0'"
