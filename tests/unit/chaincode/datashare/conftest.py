"""The parties of the data-sharing channel (DOMAIN.md §2.2) as proposal creators, and
the datashare chaincode on a fake ledger, for the datashare contracts' unit tests."""

from __future__ import annotations

import pytest

from chaincode.contract import ContractChaincode
from chaincode.contracts.datashare import contracts
from tests.support.identities import make_org
from tests.unit.chaincode.fakes import ContractOnLedger

MSPS = ("MEEMSP", "ProvGDMSP", "ProvSDMSP", "StatsMSP", "EnergyMSP", "EmitterMSP", "VerifierMSP", "AuditMSP")


@pytest.fixture(scope="session")
def parties() -> dict[str, bytes]:
    orgs = {msp: make_org(msp) for msp in MSPS}

    def who(msp: str, **attributes: str) -> bytes:
        return orgs[msp].identity(attributes=attributes).serialize()

    return {
        "regulator": who("MEEMSP", role="regulator"),
        "mee_std": who("MEEMSP", role="standard_setter"),
        "gd": who("ProvGDMSP", role="province_officer", province="GD"),
        "sd": who("ProvSDMSP", role="province_officer", province="SD"),
        "stats": who("StatsMSP", role="dept_officer"),
        "stats_std": who("StatsMSP", role="standard_setter"),
        "energy": who("EnergyMSP", role="dept_officer"),
        "E1": who("EmitterMSP", role="emitter", entity_id="E1", province="GD"),
        "E2": who("EmitterMSP", role="emitter", entity_id="E2", province="GD"),
        "V1": who("VerifierMSP", role="verifier", agency_id="V1"),
        "auditor": who("AuditMSP", role="auditor"),
        "public": who("AuditMSP", role="public"),
    }


@pytest.fixture(scope="module")
def cc() -> ContractChaincode:
    return ContractChaincode(*contracts)


class Datashare(ContractOnLedger):
    """The datashare chaincode on a fake ledger: call `contract:function` as a party."""

    at = "2023-01-02T10:00"

    def refused(self, code: str, who: str, function: str, *args: object,  # type: ignore[override]
                at: str | None = None, transient: dict[str, bytes] | None = None, naming: str = "") -> str:
        """The message of a refused call, which carries `code` (and `naming`); the ledger,
        its policies and its private data are unchanged."""
        message = super().refused(who, function, *args, at=at, transient=transient)
        assert message.startswith(f"{code}: "), message
        assert naming in message, message
        return message


@pytest.fixture
def ds(cc: ContractChaincode, parties: dict[str, bytes]) -> Datashare:
    return Datashare(cc, parties)
