"""The parties of the data-sharing channel (DOMAIN.md §2.2) as proposal creators, and
the mrv chaincode on a fake ledger, for the mrv contract's unit tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaincode.contract import ContractChaincode
from chaincode.contracts.mrv import contracts
from tests.support.identities import make_org
from tests.unit.chaincode.fakes import FakeLedger, Parties, beijing


@pytest.fixture(scope="session")
def parties() -> Parties:
    orgs = {msp: make_org(msp) for msp in ("MEEMSP", "ProvGDMSP", "ProvSDMSP", "EmitterMSP", "VerifierMSP",
                                           "AuditMSP")}

    def who(msp: str, **attributes: str) -> bytes:
        return orgs[msp].identity(attributes=attributes).serialize()

    creators = {
        "regulator": who("MEEMSP", role="regulator"),
        "gd": who("ProvGDMSP", role="province_officer", province="GD"),
        "sd": who("ProvSDMSP", role="province_officer", province="SD"),
        "gd_as_sd": who("ProvGDMSP", role="province_officer", province="SD"),
        "gd_dept": who("ProvGDMSP", role="dept_officer", province="GD"),
        "V1": who("VerifierMSP", role="verifier", agency_id="V1"),
        "V2": who("VerifierMSP", role="verifier", agency_id="V2"),
        "auditor": who("AuditMSP", role="auditor"),
    }
    for entity, province in (("E1", "GD"), ("E2", "GD"), ("E4", "SD")):
        creators[entity] = who("EmitterMSP", role="emitter", entity_id=entity, province=province)
    return Parties(creators)


@pytest.fixture(scope="module")
def cc() -> ContractChaincode:
    return ContractChaincode(*contracts)


def _args(args: tuple[object, ...]) -> list[str]:
    return [a if isinstance(a, str) else json.dumps(a) for a in args]


class Mrv:
    """The mrv chaincode on a fake ledger: call functions as a party, at a time."""

    def __init__(self, cc: ContractChaincode, parties: Parties) -> None:
        self.cc = cc
        self.parties = parties
        self.ledger = FakeLedger()

    def call(self, who: str, function: str, *args: object, at: str = "2022-01-10T10:00",
             transient: dict[str, bytes] | None = None) -> Any:
        """The result (decoded JSON, or None) of a successful call; AssertionError otherwise."""
        response = self.ledger.invoke(self.cc, f"mrv:{function}", *_args(args), creator=self.parties[who],
                                      transient=transient, timestamp=beijing(at))
        assert response.status == 200, response.message
        return json.loads(response.payload) if response.payload else None

    def refused(self, who: str, function: str, *args: object, at: str = "2022-01-10T10:00",
                transient: dict[str, bytes] | None = None) -> str:
        """The message of a refused call (`CODE: message`); the ledger, its policies and
        its private data are unchanged, and no event was set."""
        ledger = self.ledger
        before = (dict(ledger.state), dict(ledger.policies), {c: dict(kv) for c, kv in ledger.private.items()})
        response = ledger.invoke(self.cc, f"mrv:{function}", *_args(args), creator=self.parties[who],
                                 transient=transient, timestamp=beijing(at))
        assert response.status == 500, f"{function} was accepted"
        assert (ledger.state, ledger.policies, ledger.private) == before
        return str(response.message)

    def event(self) -> tuple[str, Any]:
        stub = self.ledger.last
        assert stub is not None and stub.event is not None, "no event"
        return stub.event.event_name, json.loads(stub.event.payload)


@pytest.fixture
def mrv(cc: ContractChaincode, parties: Parties) -> Mrv:
    return Mrv(cc, parties)
