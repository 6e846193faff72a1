"""The sample AssetContract, through the chaincode as a peer would drive it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import chaincode.contracts.asset as asset_package
from chaincode.contract import ContractChaincode, load_contracts
from chaincode.contracts.asset import AssetContract
from tests.unit.chaincode.fakes import FakeLedger

pytestmark = pytest.mark.unit

PACKAGE = Path(asset_package.__file__).parent


@pytest.fixture(scope="module")
def cc() -> ContractChaincode:
    return ContractChaincode(AssetContract())


def ok(ledger: FakeLedger, cc: ContractChaincode, *args: str) -> bytes:
    response = ledger.invoke(cc, *args)
    assert response.status == 200, response.message
    payload: bytes = response.payload
    return payload


def test_create_writes_sorted_json_and_emits_an_event(ledger: FakeLedger, cc: ContractChaincode) -> None:
    assert ok(ledger, cc, "create", "a1", "Org1MSP", "100") == b""
    assert ledger.state == {"a1": b'{"id":"a1","owner":"Org1MSP","value":100}'}
    assert ledger.last is not None and ledger.last.event is not None
    assert ledger.last.event.event_name == "AssetCreated"
    assert json.loads(ledger.last.event.payload) == {"id": "a1", "owner": "Org1MSP", "value": 100}


def test_create_through_the_contract_name(ledger: FakeLedger, cc: ContractChaincode) -> None:
    ok(ledger, cc, "AssetContract:create", "a1", "o", "0")
    assert "a1" in ledger.state


def test_create_refuses_duplicates_and_bad_input(ledger: FakeLedger, cc: ContractChaincode) -> None:
    ok(ledger, cc, "create", "a1", "o", "1")
    cases = {
        ("a1", "o", "1"): "ERR_CONFLICT: asset a1 already exists",
        ("bad id", "o", "1"): "ERR_INVALID_ARGUMENT: asset_id must match [A-Za-z0-9._-]{1,64}, found 'bad id'",
        ("a2", "", "1"): "ERR_INVALID_ARGUMENT: owner must not be empty",
        ("a2", "o", "-1"): "ERR_INVALID_ARGUMENT: value must be zero or more, found -1",
        ("a2", "o", "1.5"): "ERR_INVALID_ARGUMENT: create: argument 'value' must be an integer, got '1.5'",
    }
    for args, message in cases.items():
        response = ledger.invoke(cc, "create", *args)
        assert (response.status, response.message) == (500, message)
    assert list(ledger.state) == ["a1"]


def test_read(ledger: FakeLedger, cc: ContractChaincode) -> None:
    ok(ledger, cc, "create", "a1", "alice", "7")
    assert ok(ledger, cc, "read", "a1") == b'{"id":"a1","owner":"alice","value":7}'
    response = ledger.invoke(cc, "read", "a9")
    assert (response.status, response.message) == (500, "ERR_NOT_FOUND: asset a9 does not exist")


def test_transfer_changes_only_the_owner(ledger: FakeLedger, cc: ContractChaincode) -> None:
    ok(ledger, cc, "create", "a1", "alice", "7")
    assert ok(ledger, cc, "transfer", "a1", "bob") == b""
    assert ledger.state["a1"] == b'{"id":"a1","owner":"bob","value":7}'
    assert ledger.invoke(cc, "transfer", "a9", "bob").message == "ERR_NOT_FOUND: asset a9 does not exist"
    assert ledger.invoke(cc, "transfer", "a1", "").message == "ERR_INVALID_ARGUMENT: new_owner must not be empty"


def test_delete_and_exists(ledger: FakeLedger, cc: ContractChaincode) -> None:
    ok(ledger, cc, "create", "a1", "alice", "7")
    assert ok(ledger, cc, "exists", "a1") == b"true"
    assert ok(ledger, cc, "delete", "a1") == b""
    assert ledger.state == {}
    assert ok(ledger, cc, "exists", "a1") == b"false"
    assert ledger.invoke(cc, "delete", "a1").message == "ERR_NOT_FOUND: asset a1 does not exist"


def test_list_by_range(ledger: FakeLedger, cc: ContractChaincode) -> None:
    for asset_id, value in [("b", 2), ("a", 1), ("d", 4), ("c", 3)]:
        ok(ledger, cc, "create", asset_id, "o", str(value))
    listed = json.loads(ok(ledger, cc, "list_by_range", "b", "d"))
    assert listed == [{"id": "b", "owner": "o", "value": 2}, {"id": "c", "owner": "o", "value": 3}]
    assert [a["id"] for a in json.loads(ok(ledger, cc, "list_by_range", "", ""))] == ["a", "b", "c", "d"]
    assert ok(ledger, cc, "list_by_range", "x", "z") == b"[]"


def test_same_inputs_give_the_same_bytes(cc: ContractChaincode) -> None:
    """Two endorsers running the same proposal must agree byte for byte."""
    runs = []
    for _ in range(2):
        ledger = FakeLedger()
        ok(ledger, cc, "create", "a1", "alice", "7")
        ok(ledger, cc, "create", "a2", "bob", "9")
        runs.append((dict(ledger.state), ok(ledger, cc, "list_by_range", "", "")))
    assert runs[0] == runs[1]


def test_metadata_tags(cc: ContractChaincode) -> None:
    transactions = cc.metadata["contracts"]["AssetContract"]["transactions"]
    assert {t["name"]: t["tag"][0] for t in transactions} == {
        "create": "submit", "read": "evaluate", "transfer": "submit", "delete": "submit",
        "exists": "evaluate", "list_by_range": "evaluate",
    }


def test_package_declares_its_contracts() -> None:
    contracts = load_contracts(PACKAGE)
    assert [type(c).__name__ for c in contracts] == ["AssetContract"]
    assert [c.name for c in asset_package.contracts] == ["AssetContract"]
    ledger = FakeLedger()
    ok(ledger, ContractChaincode(*contracts), "create", "x", "o", "1")
    assert ok(ledger, ContractChaincode(*contracts), "exists", "x") == b"true"
