"""The parties of the data-sharing channel (DOMAIN.md §2.2) as proposal creators, and
the mrv chaincode on a fake ledger, for the mrv contract's unit tests."""

from __future__ import annotations

import pytest

from chaincode.contract import ContractChaincode
from chaincode.contracts.mrv import contracts
from tests.support.identities import make_org
from tests.unit.chaincode.fakes import ContractOnLedger, Parties


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


class Mrv(ContractOnLedger):
    """The mrv chaincode on a fake ledger; its functions are those of contract `mrv`."""

    prefix = "mrv:"
    at = "2022-01-10T10:00"


@pytest.fixture
def mrv(cc: ContractChaincode, parties: Parties) -> Mrv:
    return Mrv(cc, parties)
