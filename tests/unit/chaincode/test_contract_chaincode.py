"""ContractChaincode: routing, hooks, errors and the checks made when it is built.

Every test drives the chaincode through the shim's interface (`invoke`/`init` with a
stub, answering a Response), as the handler does, using an in-memory stub.
"""

from __future__ import annotations

from typing import Any

import pytest

from chaincode.contract import (
    Context,
    Contract,
    ContractChaincode,
    ContractDefinitionError,
    ContractError,
    transaction,
)
from chaincode.shim import ChaincodeStubError
from tests.unit.chaincode.fakes import FakeLedger

pytestmark = pytest.mark.unit


class Greeter(Contract):
    @transaction
    def hello(self, ctx: Context, who: str) -> str:
        return f"hello {who}"

    @transaction(submit=False)
    def count(self, ctx: Context) -> int:
        return 3

    def helper(self, ctx: Context) -> str:  # not marked: not callable by clients
        return "secret"


class Counter(Contract):
    name = "counter"

    @transaction
    def hello(self, ctx: Context, who: str) -> str:
        return f"counter greets {who}"

    @transaction(name="Increment")
    def increment(self, ctx: Context, key: str) -> int:
        value = int(ctx.stub.get_state(key) or b"0") + 1
        ctx.stub.put_state(key, str(value).encode())
        return value


# ----- routing ---------------------------------------------------------------------


def test_bare_function_goes_to_the_first_contract(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Greeter(), Counter())
    response = ledger.invoke(cc, "hello", "ann")
    assert (response.status, response.payload) == (200, b"hello ann")


def test_named_contract_is_reached_with_a_colon(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Greeter(), Counter())
    assert ledger.invoke(cc, "counter:hello", "bo").payload == b"counter greets bo"
    assert ledger.invoke(cc, "Greeter:hello", "bo").payload == b"hello bo"
    # An empty contract part is the default contract, as in fabric-contract-api.
    assert ledger.invoke(cc, ":hello", "cy").payload == b"hello cy"


def test_default_is_the_first_contract_given(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Counter(), Greeter())
    assert cc.default_contract == "counter"
    assert ledger.invoke(cc, "hello", "ann").payload == b"counter greets ann"


def test_transaction_name_override_is_what_clients_call(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Counter())
    assert ledger.invoke(cc, "Increment", "k").payload == b"1"
    assert ledger.state == {"k": b"1"}
    response = ledger.invoke(cc, "increment", "k")
    assert response.status == 500
    assert "'increment' is not a transaction of contract 'counter'" in response.message


def test_unknown_function_names_the_available_ones(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Greeter())
    response = ledger.invoke(cc, "helper")
    assert response.status == 500
    assert response.message == ("function 'helper' is not a transaction of contract 'Greeter'; "
                                "available: hello, count")
    assert response.payload == b""


def test_unknown_function_of_a_named_contract(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Greeter(), Counter())
    response = ledger.invoke(cc, "counter:nope")
    assert response.status == 500
    assert response.message == ("function 'nope' is not a transaction of contract 'counter'; "
                                "available: hello, Increment")


def test_unknown_contract_names_the_contracts(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Greeter(), Counter())
    response = ledger.invoke(cc, "Ghost:hello", "x")
    assert response.status == 500
    assert response.message == "contract 'Ghost' is not in this chaincode; available: Greeter, counter"


def test_only_the_first_colon_separates_the_contract(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Greeter())
    response = ledger.invoke(cc, "Greeter:hello:x", "a")
    assert response.status == 500
    assert "function 'hello:x' is not a transaction of contract 'Greeter'" in response.message


def test_init_routes_like_invoke(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Greeter(), Counter())
    assert ledger.invoke(cc, "counter:Increment", "k", init=True).payload == b"1"
    assert ledger.invoke(cc, "hello", "z", init=True).payload == b"hello z"


def test_no_arguments_is_a_successful_no_op(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Counter())
    response = ledger.invoke(cc)
    assert (response.status, response.payload) == (200, b"")
    assert ledger.last is not None and ledger.last.calls == []


def test_function_name_that_is_not_utf8_is_refused(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Greeter()), b"\xff\xfe")
    assert response.status == 500
    assert response.message.startswith("the function name is not UTF-8 text")


def test_writes_of_a_failed_transaction_are_not_kept(ledger: FakeLedger) -> None:
    class Half(Contract):
        @transaction
        def write_then_fail(self, ctx: Context) -> None:
            ctx.stub.put_state("k", b"v")
            raise ContractError("changed my mind", "ERR_CONFLICT")

    response = ledger.invoke(ContractChaincode(Half()), "write_then_fail")
    assert response.status == 500
    assert ledger.state == {}


def test_two_instances_of_one_class_under_different_names(ledger: FakeLedger) -> None:
    cc = ContractChaincode(Greeter(), Greeter(name="Other"))
    assert cc.contract_names == ["Greeter", "Other"]
    assert ledger.invoke(cc, "Other:hello", "a").payload == b"hello a"


# ----- errors ---------------------------------------------------------------------


class Failing(Contract):
    @transaction
    def refuse(self, ctx: Context, code: str) -> None:
        raise ContractError("caller is not a provincial officer", code or None)

    @transaction
    def crash(self, ctx: Context) -> None:
        {}["missing"]

    @transaction
    def crash_quietly(self, ctx: Context) -> None:
        raise RuntimeError()

    @transaction
    def peer_refused(self, ctx: Context) -> None:
        raise ChaincodeStubError("no such collection")


def test_contract_error_with_a_code(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Failing()), "refuse", "ERR_UNAUTHORIZED")
    assert (response.status, response.message) == (500, "ERR_UNAUTHORIZED: caller is not a provincial officer")
    assert response.payload == b""


def test_contract_error_without_a_code(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Failing()), "refuse", "")
    assert (response.status, response.message) == (500, "caller is not a provincial officer")


def test_contract_error_keeps_code_and_message_apart() -> None:
    exc = ContractError("asset a1 does not exist", "ERR_NOT_FOUND")
    assert (exc.code, exc.message, str(exc)) == ("ERR_NOT_FOUND", "asset a1 does not exist",
                                                 "ERR_NOT_FOUND: asset a1 does not exist")
    from consortia.errors import ConsortiaError
    assert isinstance(exc, ConsortiaError)


def test_contract_error_refuses_a_code_that_is_not_one() -> None:
    with pytest.raises(TypeError, match="code must look like ERR_NOT_FOUND"):
        ContractError("ERR_NOT_FOUND", "asset a1 does not exist")  # arguments swapped
    assert str(ContractError("plain")) == "plain"


def test_unexpected_exception_is_type_and_message_without_traceback(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Failing()), "crash")
    assert (response.status, response.message) == (500, "KeyError: 'missing'")
    assert "Traceback" not in response.message and "line" not in response.message


def test_unexpected_exception_without_a_message(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Failing()), "crash_quietly")
    assert (response.status, response.message) == (500, "RuntimeError")


def test_stub_refusal_reaches_the_client_by_type(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Failing()), "peer_refused")
    assert (response.status, response.message) == (500, "ChaincodeStubError: no such collection")


def test_an_event_is_not_the_chaincodes_business_on_failure(ledger: FakeLedger) -> None:
    """The handler drops the event of a failed transaction; the chaincode only reports failure."""

    class Evented(Contract):
        @transaction
        def go(self, ctx: Context) -> None:
            ctx.stub.set_event("Started", b"")
            raise ContractError("stop")

    response = ledger.invoke(ContractChaincode(Evented()), "go")
    assert response.status == 500 and response.message == "stop"


# ----- hooks --------------------------------------------------------------------------


class Hooked(Contract):
    def __init__(self, fail_in: str = "") -> None:
        super().__init__()
        self.log: list[str] = []
        self.fail_in = fail_in

    def before_transaction(self, ctx: Context) -> None:
        self.log.append("before")
        if self.fail_in == "before":
            raise ContractError("closed for maintenance", "ERR_MARKET_CLOSED")

    def after_transaction(self, ctx: Context, result: object) -> None:
        self.log.append(f"after {result!r}")
        if self.fail_in == "after":
            raise ValueError("audit failed")

    def unknown_transaction(self, ctx: Context) -> object:
        self.log.append("unknown")
        if self.fail_in == "unknown":
            raise ContractError("no such thing", "ERR_NOT_FOUND")
        return {"fallback": True}

    @transaction
    def work(self, ctx: Context, n: int) -> int:
        self.log.append(f"work {n}")
        ctx.stub.put_state("w", b"1")
        return n * 2


def test_hooks_run_around_the_transaction_in_order(ledger: FakeLedger) -> None:
    contract = Hooked()
    response = ledger.invoke(ContractChaincode(contract), "work", "21")
    assert response.payload == b"42"
    assert contract.log == ["before", "work 21", "after 42"]


def test_arguments_are_checked_before_any_hook(ledger: FakeLedger) -> None:
    contract = Hooked()
    response = ledger.invoke(ContractChaincode(contract), "work", "x")
    assert response.status == 500
    assert contract.log == []


def test_failure_in_before_hook_stops_the_transaction(ledger: FakeLedger) -> None:
    contract = Hooked(fail_in="before")
    response = ledger.invoke(ContractChaincode(contract), "work", "1")
    assert (response.status, response.message) == (500, "ERR_MARKET_CLOSED: closed for maintenance")
    assert contract.log == ["before"]
    assert ledger.state == {}


def test_failure_in_after_hook_fails_the_transaction(ledger: FakeLedger) -> None:
    contract = Hooked(fail_in="after")
    response = ledger.invoke(ContractChaincode(contract), "work", "1")
    assert (response.status, response.message) == (500, "ValueError: audit failed")
    assert contract.log == ["before", "work 1", "after 2"]
    assert ledger.state == {}  # its writes are not kept


def test_unknown_hook_result_is_the_response(ledger: FakeLedger) -> None:
    contract = Hooked()
    response = ledger.invoke(ContractChaincode(contract), "nothing", "a", "b")
    assert (response.status, response.payload) == (200, b'{"fallback":true}')
    assert contract.log == ["unknown"]  # before/after are for known transactions


def test_unknown_hook_may_refuse(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Hooked(fail_in="unknown")), "nothing")
    assert (response.status, response.message) == (500, "ERR_NOT_FOUND: no such thing")


def test_create_context_gives_transactions_their_context(ledger: FakeLedger) -> None:
    class AuditContext(Context):
        def __init__(self, stub: object) -> None:
            super().__init__(stub)  # type: ignore[arg-type]
            self.notes: list[str] = []

    class Audited(Contract):
        def create_context(self, stub: object) -> AuditContext:  # type: ignore[override]
            return AuditContext(stub)

        def before_transaction(self, ctx: Context) -> None:
            assert isinstance(ctx, AuditContext)
            ctx.notes.append("seen by before")

        @transaction
        def notes(self, ctx: AuditContext) -> list[str]:
            return ctx.notes + [type(ctx).__name__]

    response = ledger.invoke(ContractChaincode(Audited()), "notes")
    assert response.payload == b'["seen by before","AuditContext"]'


def test_the_plain_context_has_room_for_a_contracts_own_fields(ledger: FakeLedger) -> None:
    class Tagging(Contract):
        def before_transaction(self, ctx: Context) -> None:
            ctx.caller_org = "Org1MSP"  # type: ignore[attr-defined]

        @transaction
        def who(self, ctx: Context) -> str:
            return ctx.caller_org  # type: ignore[attr-defined,no-any-return]

    assert ledger.invoke(ContractChaincode(Tagging()), "who").payload == b"Org1MSP"


def test_failure_in_create_context_fails_the_transaction(ledger: FakeLedger) -> None:
    class Broken(Contract):
        def create_context(self, stub: object) -> Context:  # type: ignore[override]
            raise OSError("no context today")

        @transaction
        def go(self, ctx: Context) -> None:
            raise AssertionError("must not run")

    response = ledger.invoke(ContractChaincode(Broken()), "go")
    assert (response.status, response.message) == (500, "OSError: no context today")


def test_context_holds_the_stub_and_decodes_the_creator_only_when_asked(ledger: FakeLedger) -> None:
    seen: list[Context] = []

    class Looker(Contract):
        @transaction
        def look(self, ctx: Context) -> None:
            seen.append(ctx)

    ledger.invoke(ContractChaincode(Looker()), "look")
    assert seen[0].stub is ledger.last
    assert ledger.last is not None and "get_creator" not in ledger.last.calls


def test_each_transaction_gets_a_fresh_context(ledger: FakeLedger) -> None:
    seen: list[Context] = []

    class Looker(Contract):
        @transaction
        def look(self, ctx: Context) -> None:
            seen.append(ctx)

    cc = ContractChaincode(Looker())
    ledger.invoke(cc, "look")
    ledger.invoke(cc, "look")
    assert seen[0] is not seen[1]


def test_transient_data_is_reached_through_the_stub(ledger: FakeLedger) -> None:
    class Private(Contract):
        @transaction
        def store(self, ctx: Context, key: str) -> int:
            secret = ctx.stub.get_transient()["secret"]
            ctx.stub.put_state(key, secret)
            return len(secret)

    response = ledger.invoke(ContractChaincode(Private()), "store", "k", transient={"secret": b"\x00\x01s"})
    assert response.payload == b"3"
    assert ledger.state == {"k": b"\x00\x01s"}


# ----- the decorator and inheritance ---------------------------------------------------


def test_decorator_forms_and_the_plain_method_still_works() -> None:
    class Forms(Contract):
        @transaction
        def bare(self, ctx: Context) -> str:
            return "bare"

        @transaction()
        def called(self, ctx: Context) -> str:
            return "called"

        @transaction(submit=False, name="Query")
        def query(self, ctx: Context) -> str:
            return "query"

    cc = ContractChaincode(Forms())
    tags = {t["name"]: t["tag"] for t in cc.metadata["contracts"]["Forms"]["transactions"]}
    assert tags == {"bare": ["submit"], "called": ["submit"], "Query": ["evaluate"]}
    assert Forms().bare(None) == "bare"  # type: ignore[arg-type]


def test_decorator_refuses_a_name_given_positionally() -> None:
    with pytest.raises(TypeError, match="name="):
        transaction("create")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="non-empty"):
        transaction(name="")


def test_subclass_inherits_and_overrides_transactions(ledger: FakeLedger) -> None:
    class Base(Contract):
        @transaction
        def a(self, ctx: Context) -> str:
            return "base a"

        @transaction
        def b(self, ctx: Context) -> str:
            return "base b"

    class Child(Base):
        @transaction
        def a(self, ctx: Context) -> str:
            return "child a"

        def b(self, ctx: Context) -> str:  # overridden without the mark: no longer a transaction
            return "child b"

        @transaction
        def c(self, ctx: Context) -> str:
            return "child c"

    cc = ContractChaincode(Child())
    assert cc.contract_names == ["Child"]  # the name follows the class, not the base
    assert ledger.invoke(cc, "a").payload == b"child a"
    assert ledger.invoke(cc, "b").status == 500
    assert ledger.invoke(cc, "c").payload == b"child c"


def test_name_defaults_to_class_name_and_can_be_set() -> None:
    class Plain(Contract):
        pass

    class Named(Contract):
        name = "trading"

    assert (Plain().name, Named().name, Named(name="other").name) == ("Plain", "trading", "other")


# ----- refused at construction ----------------------------------------------------------


def test_duplicate_contract_names_are_refused() -> None:
    with pytest.raises(ContractDefinitionError, match="two contracts are named 'Greeter'"):
        ContractChaincode(Greeter(), Greeter())


def test_reserved_and_malformed_contract_names_are_refused() -> None:
    with pytest.raises(ContractDefinitionError, match="reserved"):
        ContractChaincode(Greeter(name="org.hyperledger.fabric"))
    with pytest.raises(ContractDefinitionError, match="without ':'"):
        ContractChaincode(Greeter(name="a:b"))


def test_no_contracts_and_classes_instead_of_instances_are_refused() -> None:
    with pytest.raises(ContractDefinitionError, match="at least one contract"):
        ContractChaincode()
    with pytest.raises(ContractDefinitionError, match=r"instantiate it: Greeter\(\)"):
        ContractChaincode(Greeter)  # type: ignore[arg-type]


def test_two_transactions_with_one_name_are_refused() -> None:
    class Clash(Contract):
        @transaction
        def read(self, ctx: Context) -> None: ...

        @transaction(name="read")
        def read_again(self, ctx: Context) -> None: ...

    with pytest.raises(ContractDefinitionError, match="read and read_again are both transaction 'read'"):
        ContractChaincode(Clash())


def test_parameter_without_type_hint_is_refused() -> None:
    class Untyped(Contract):
        @transaction
        def go(self, ctx: Context, amount) -> None: ...  # type: ignore[no-untyped-def]

    with pytest.raises(ContractDefinitionError, match="Untyped.go: parameter 'amount' needs a type hint"):
        ContractChaincode(Untyped())


def test_unsupported_type_is_refused_naming_method_and_parameter() -> None:
    class Odd(Contract):
        @transaction
        def go(self, ctx: Context, items: set[str]) -> None: ...

    with pytest.raises(ContractDefinitionError, match=r"Odd.go parameter 'items': type set\[str\] is not supported"):
        ContractChaincode(Odd())


def contract_taking(hint: object) -> Contract:
    """A contract whose one transaction takes `value: hint` (the hint as an object, not text)."""

    def go(self: Contract, ctx: Context, value: Any) -> None: ...

    go.__annotations__ = {"value": hint, "return": None}
    return type("Odd", (Contract,), {"go": transaction(go)})()


@pytest.mark.parametrize("hint, message", [
    (Any, "Any cannot be a whole argument"),
    (dict[int, str], "dict keys must be str"),
    (list[bytes], "bytes can only be a whole argument"),
    (int | str, "is not supported"),
    (tuple[int, int], "is not supported"),
])
def test_other_unsupported_hints(hint: object, message: str) -> None:
    with pytest.raises(ContractDefinitionError, match=message):
        ContractChaincode(contract_taking(hint))


def test_any_is_accepted_inside_json() -> None:
    cc = ContractChaincode(contract_taking(dict[str, Any]))
    assert FakeLedger().invoke(cc, "go", '{"x": [1, {"y": null}]}').status == 200


def test_variadic_and_keyword_only_parameters_are_refused() -> None:
    class Star(Contract):
        @transaction
        def go(self, ctx: Context, *values: str) -> None: ...

    class Kw(Contract):
        @transaction
        def go(self, ctx: Context, *, value: str) -> None: ...

    class NoCtx(Contract):
        @transaction
        def go(self) -> None: ...

    with pytest.raises(ContractDefinitionError, match="'values' must be positional"):
        ContractChaincode(Star())
    with pytest.raises(ContractDefinitionError, match="'value' must be positional"):
        ContractChaincode(Kw())
    with pytest.raises(ContractDefinitionError, match=r"takes \(self, ctx, ...\)"):
        ContractChaincode(NoCtx())


def test_unresolvable_hint_is_refused() -> None:
    class Forward(Contract):
        @transaction
        def go(self, ctx: Context, value: Missing) -> None: ...  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ContractDefinitionError, match="cannot resolve its type hints"):
        ContractChaincode(Forward())
