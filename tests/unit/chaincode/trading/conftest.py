"""The parties of the carbon market (DOMAIN.md §2.2) as proposal creators, and the
trading chaincode on a fake ledger, for the trading contract's unit tests."""

from __future__ import annotations

import functools

import pytest

from chaincode.contract import ContractChaincode
from chaincode.contracts.trading import contracts
from tests.support.identities import make_org
from tests.unit.chaincode.fakes import ContractOnLedger, Parties


@functools.cache
def make_parties() -> Parties:
    """The creators of every role (keys are made once per test run)."""
    orgs = {msp: make_org(msp) for msp in ("MEEMSP", "ProvGDMSP", "ProvSDMSP", "RegistryMSP", "ExchangeMSP",
                                           "BankMSP", "EmitterMSP", "VerifierMSP", "AuditMSP")}

    def who(msp: str, **attributes: str) -> bytes:
        return orgs[msp].identity(attributes=attributes).serialize()

    creators = {
        "regulator": who("MEEMSP", role="regulator"),
        "gd": who("ProvGDMSP", role="province_officer", province="GD"),
        "sd": who("ProvSDMSP", role="province_officer", province="SD"),
        "registry": who("RegistryMSP", role="registry_operator"),
        "exchange": who("ExchangeMSP", role="exchange_operator"),
        "bank": who("BankMSP", role="bank_operator", bank_id="SB1"),
        "verifier": who("VerifierMSP", role="verifier", agency_id="V1"),
        "auditor": who("AuditMSP", role="auditor"),
    }
    for entity, province in (("E1", "GD"), ("E2", "GD"), ("E3", "GD"), ("E4", "SD"), ("E5", "GD"), ("E6", "SD"),
                             ("E7", "GD")):
        creators[entity] = who("EmitterMSP", role="emitter", entity_id=entity, province=province)
    return Parties(creators)


@pytest.fixture(scope="session")
def parties() -> Parties:
    return make_parties()


@pytest.fixture(scope="module")
def cc() -> ContractChaincode:
    return ContractChaincode(*contracts)


class Trading(ContractOnLedger):
    """The trading chaincode on a fake ledger."""


@pytest.fixture
def trading(cc: ContractChaincode, parties: Parties) -> Trading:
    return Trading(cc, parties)
