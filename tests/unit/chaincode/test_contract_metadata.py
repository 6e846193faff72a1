"""GetMetadata: the chaincode describes its contracts in Fabric's contract-schema shape."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, make_dataclass
from typing import Any, ClassVar

import pytest

from chaincode.contract import (
    Context,
    Contract,
    ContractChaincode,
    ContractDefinitionError,
    transaction,
)
from tests.unit.chaincode.fakes import FakeLedger

pytestmark = pytest.mark.unit


@dataclass
class Party:
    name: str
    licence: str | None = None


@dataclass
class Deal:
    deal_id: str
    quantity: int
    price: float
    buyer: Party
    sellers: list[Party]
    approved: bool = False
    notes: dict[str, str] = field(default_factory=dict)
    parent: Deal | None = None


@dataclass
class Empty:
    pass


class Market(Contract):
    name = "market"
    info: ClassVar[dict[str, str]] = {"version": "1.2", "description": "Allowance trading"}

    @transaction
    def open_deal(self, ctx: Context, deal: Deal, blob: bytes, memo: str | None, limit: int = 5) -> Deal:
        return deal

    @transaction(submit=False)
    def quote(self, ctx: Context, deal_id: str) -> float:
        return 1.0

    @transaction(submit=False, name="ListDeals")
    def list_deals(self, ctx: Context, ids: list[str], filters: dict[str, Any]) -> list[Deal]:
        return []

    @transaction
    def touch(self, ctx: Context, thing: Empty) -> None: ...

    @transaction
    def untyped_result(self, ctx: Context):  # type: ignore[no-untyped-def]
        return None


class Admin(Contract):
    @transaction
    def pause(self, ctx: Context) -> bool:
        return True


@pytest.fixture(scope="module")
def metadata() -> dict[str, Any]:
    cc = ContractChaincode(Market(), Admin(), title="carbon", version="0.3.0")
    response = FakeLedger().invoke(cc, "org.hyperledger.fabric:GetMetadata")
    assert response.status == 200
    document: dict[str, Any] = json.loads(response.payload)
    return document


def by_name(metadata: dict[str, Any], contract: str) -> dict[str, Any]:
    return {t["name"]: t for t in metadata["contracts"][contract]["transactions"]}


def test_top_level(metadata: dict[str, Any]) -> None:
    assert metadata["$schema"] == "https://hyperledger.github.io/fabric-chaincode-node/main/api/contract-schema.json"
    assert metadata["info"] == {"title": "carbon", "version": "0.3.0"}
    assert metadata["default"] == "market"
    assert list(metadata["contracts"]) == ["Admin", "market", "org.hyperledger.fabric"]  # sorted keys


def test_contracts_and_their_info(metadata: dict[str, Any]) -> None:
    market = metadata["contracts"]["market"]
    assert market["name"] == "market"
    assert market["info"] == {"title": "market", "version": "1.2", "description": "Allowance trading"}
    assert metadata["contracts"]["Admin"]["info"] == {"title": "Admin", "version": ""}
    assert [t["name"] for t in market["transactions"]] == ["open_deal", "quote", "ListDeals", "touch",
                                                          "untyped_result"]


def test_system_contract_is_described(metadata: dict[str, Any]) -> None:
    system = metadata["contracts"]["org.hyperledger.fabric"]
    assert system["transactions"] == [{"name": "GetMetadata", "tag": ["evaluate"], "parameters": []}]


def test_tags_say_submit_or_evaluate(metadata: dict[str, Any]) -> None:
    tags = {name: tx["tag"] for name, tx in by_name(metadata, "market").items()}
    assert tags == {"open_deal": ["submit"], "quote": ["evaluate"], "ListDeals": ["evaluate"],
                    "touch": ["submit"], "untyped_result": ["submit"]}
    assert by_name(metadata, "Admin")["pause"]["tag"] == ["submit"]


def test_parameter_schemas(metadata: dict[str, Any]) -> None:
    open_deal = by_name(metadata, "market")["open_deal"]
    assert open_deal["parameters"] == [
        {"name": "deal", "required": True, "schema": {"$ref": "#/components/schemas/Deal"}},
        {"name": "blob", "required": True, "schema": {"type": "string", "format": "binary"}},
        {"name": "memo", "required": True, "schema": {"type": ["string", "null"]}},
        {"name": "limit", "required": False, "schema": {"type": "integer"}},
    ]
    list_deals = by_name(metadata, "market")["ListDeals"]
    assert [p["schema"] for p in list_deals["parameters"]] == [
        {"type": "array", "items": {"type": "string"}},
        {"type": "object"},
    ]


def test_return_schemas(metadata: dict[str, Any]) -> None:
    market = by_name(metadata, "market")
    assert market["open_deal"]["returns"] == {"$ref": "#/components/schemas/Deal"}
    assert market["quote"]["returns"] == {"type": "number"}
    assert market["ListDeals"]["returns"] == {"type": "array", "items": {"$ref": "#/components/schemas/Deal"}}
    assert by_name(metadata, "Admin")["pause"]["returns"] == {"type": "boolean"}
    assert "returns" not in market["touch"]  # -> None
    assert "returns" not in market["untyped_result"]


def test_dataclass_components(metadata: dict[str, Any]) -> None:
    schemas = metadata["components"]["schemas"]
    assert set(schemas) == {"Deal", "Party", "Empty"}
    assert schemas["Deal"] == {
        "$id": "Deal",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "deal_id": {"type": "string"},
            "quantity": {"type": "integer"},
            "price": {"type": "number"},
            "buyer": {"$ref": "#/components/schemas/Party"},
            "sellers": {"type": "array", "items": {"$ref": "#/components/schemas/Party"}},
            "approved": {"type": "boolean"},
            "notes": {"type": "object", "additionalProperties": {"type": "string"}},
            "parent": {"$ref": "#/components/schemas/Deal"},
        },
        "required": ["deal_id", "quantity", "price", "buyer", "sellers"],
    }
    assert schemas["Party"]["properties"] == {"name": {"type": "string"}, "licence": {"type": ["string", "null"]}}
    assert schemas["Party"]["required"] == ["name"]
    assert "required" not in schemas["Empty"]  # draft 04 wants a non-empty list or none


def test_metadata_bytes_are_stable() -> None:
    first = FakeLedger().invoke(ContractChaincode(Market(), Admin()), "org.hyperledger.fabric:GetMetadata")
    second = FakeLedger().invoke(ContractChaincode(Market(), Admin()), "org.hyperledger.fabric:GetMetadata")
    assert first.payload == second.payload
    assert b" " not in first.payload.replace(b"Allowance trading", b"")  # compact


def test_metadata_property_matches_what_is_served() -> None:
    cc = ContractChaincode(Admin())
    served = json.loads(FakeLedger().invoke(cc, "org.hyperledger.fabric:GetMetadata").payload)
    assert cc.metadata == served
    cc.metadata["contracts"].clear()  # a copy: the served document does not change
    assert json.loads(FakeLedger().invoke(cc, "org.hyperledger.fabric:GetMetadata").payload) == served


def test_unknown_system_function(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Admin()), "org.hyperledger.fabric:GetEverything")
    assert response.status == 500
    assert response.message == ("function 'GetEverything' is not a transaction of contract "
                                "'org.hyperledger.fabric'; available: GetMetadata")


def test_system_contract_skips_hooks_and_identity(ledger: FakeLedger) -> None:
    calls: list[str] = []

    class Guarded(Contract):
        def before_transaction(self, ctx: Context) -> None:
            calls.append("before")

    response = ledger.invoke(ContractChaincode(Guarded()), "org.hyperledger.fabric:GetMetadata", creator=b"junk")
    assert response.status == 200 and calls == []


def test_two_dataclasses_with_one_name_are_refused() -> None:
    other_party = make_dataclass("Party", [("other", int)])  # as another module might define

    def first(self: Contract, ctx: Context, p: Party) -> None: ...

    def second(self: Contract, ctx: Context, p: Any) -> None: ...

    first.__annotations__ = {"p": Party}
    second.__annotations__ = {"p": other_party}
    clash = type("Clash", (Contract,), {"first": transaction(first), "second": transaction(second)})
    with pytest.raises(ContractDefinitionError, match="two dataclasses are both named Party"):
        ContractChaincode(clash())
