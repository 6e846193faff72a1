"""ClientIdentity: the proposal creator as a contract sees it, and the access assertions.

Identities are real certificates issued by a test CA, passed as the creator bytes
(msp.SerializedIdentity) the way the peer passes them to the chaincode.
"""

from __future__ import annotations

import pytest

from chaincode.contract import (
    ClientIdentity,
    Context,
    Contract,
    ContractChaincode,
    ContractError,
    transaction,
)
from consortia.errors import IdentityError
from tests.support.identities import SampleOrg
from tests.unit.chaincode.fakes import FakeLedger

pytestmark = pytest.mark.unit


def creator(org: SampleOrg, node_ou: str = "client", **attributes: str) -> bytes:
    return org.identity(node_ou, attributes=attributes or None).serialize()


def test_fields_from_the_creator(org1: SampleOrg) -> None:
    signer = org1.identity("client", "officer1@org1", attributes={"role": "officer", "province": "GD"})
    identity = ClientIdentity.from_creator(signer.serialize())
    assert identity.msp_id == "Org1MSP"
    assert identity.role == "client"
    assert identity.attributes == {"role": "officer", "province": "GD"}
    assert identity.get_attribute_value("province") == "GD"
    assert identity.get_attribute_value("entity_id") is None
    assert identity.certificate == signer.identity.certificate


def test_id_is_subject_and_issuer_most_specific_first(org1: SampleOrg) -> None:
    identity = ClientIdentity.from_creator(org1.identity("client", "user1@org1msp").serialize())
    assert identity.id == (
        "x509::CN=user1@org1msp,OU=client,L=San Francisco,ST=California,C=US"
        "::CN=ca.org1msp.test,O=org1msp.test,L=San Francisco,ST=California,C=US"
    )


@pytest.mark.parametrize("node_ou", ["client", "peer", "admin", "orderer"])
def test_role_is_the_node_ou(org1: SampleOrg, node_ou: str) -> None:
    assert ClientIdentity.from_creator(org1.identity(node_ou).serialize()).role == node_ou


def test_role_is_none_without_a_node_ou(org1: SampleOrg) -> None:
    identity = ClientIdentity.from_creator(org1.identity(ous=["department-7"]).serialize())
    assert identity.role is None
    assert ClientIdentity.from_creator(org1.identity(ous=["department-7", "admin"]).serialize()).role == "admin"


def test_certificate_without_attributes(org1: SampleOrg) -> None:
    identity = ClientIdentity.from_creator(creator(org1))
    assert identity.attributes == {}
    assert identity.get_attribute_value("role") is None


def test_attributes_are_a_copy(org1: SampleOrg) -> None:
    identity = ClientIdentity.from_creator(creator(org1, role="officer"))
    identity.attributes["role"] = "admin"
    assert identity.get_attribute_value("role") == "officer"


def test_malformed_creator_is_an_identity_error() -> None:
    with pytest.raises(IdentityError):
        ClientIdentity.from_creator(b"")
    with pytest.raises(IdentityError):
        ClientIdentity.from_creator(b"\xff\xff\xff")


# ----- assertions -----------------------------------------------------------------------


def test_assert_msp(org1: SampleOrg) -> None:
    identity = ClientIdentity.from_creator(creator(org1))
    assert identity.assert_msp("Org1MSP") == "Org1MSP"
    assert identity.assert_msp("MEEMSP", "Org1MSP") == "Org1MSP"
    with pytest.raises(ContractError) as info:
        identity.assert_msp("MEEMSP")
    assert info.value.code == "ERR_UNAUTHORIZED"
    assert info.value.message == "caller must belong to 'MEEMSP', found MSP 'Org1MSP'"
    with pytest.raises(ContractError, match="caller must belong to one of 'MEEMSP', 'ProvMSP', found MSP 'Org1MSP'"):
        identity.assert_msp("MEEMSP", "ProvMSP")


def test_assert_role_checks_the_role_attribute(org1: SampleOrg) -> None:
    officer = ClientIdentity.from_creator(creator(org1, role="officer"))
    assert officer.assert_role("officer") == "officer"
    assert officer.assert_role("regulator", "officer") == "officer"
    with pytest.raises(ContractError) as info:
        officer.assert_role("emitter")
    assert (info.value.code, info.value.message) == ("ERR_UNAUTHORIZED",
                                                     "caller must have attribute 'role' = 'emitter', found 'officer'")


def test_assert_role_is_not_the_node_ou(org1: SampleOrg) -> None:
    plain_client = ClientIdentity.from_creator(creator(org1))
    with pytest.raises(ContractError) as info:
        plain_client.assert_role("client")
    assert info.value.code == "ERR_UNAUTHORIZED"
    assert info.value.message == "caller must have attribute 'role' = 'client', found no 'role' attribute (MSP 'Org1MSP')"


def test_assert_attribute(org1: SampleOrg) -> None:
    identity = ClientIdentity.from_creator(creator(org1, role="emitter", entity_id="E-9"))
    assert identity.assert_attribute("entity_id") == "E-9"
    assert identity.assert_attribute("entity_id", "E-1", "E-9") == "E-9"
    with pytest.raises(ContractError, match=r"caller must have attribute 'entity_id' = one of 'E-1', 'E-2', found 'E-9'"):
        identity.assert_attribute("entity_id", "E-1", "E-2")
    with pytest.raises(ContractError, match=r"caller must have attribute 'province', found no 'province' attribute"):
        identity.assert_attribute("province")


def test_assertions_need_something_to_accept(org1: SampleOrg) -> None:
    identity = ClientIdentity.from_creator(creator(org1))
    with pytest.raises(TypeError):
        identity.assert_msp()
    with pytest.raises(TypeError):
        identity.assert_role()


# ----- inside a transaction -------------------------------------------------------------


class Registry(Contract):
    @transaction
    def register(self, ctx: Context, entity_id: str) -> str:
        ctx.client_identity.assert_msp("ProvMSP")
        province = ctx.client_identity.assert_attribute("province")
        ctx.client_identity.assert_role("officer")
        ctx.stub.put_state(entity_id, province.encode())
        return ctx.client_identity.id

    @transaction(submit=False)
    def whoami(self, ctx: Context) -> dict[str, object]:
        identity = ctx.client_identity
        return {"msp": identity.msp_id, "role": identity.role, "attributes": identity.attributes}


@pytest.fixture(scope="module")
def prov() -> SampleOrg:
    from tests.support.identities import make_org
    return make_org("ProvMSP")


def test_authorized_caller(ledger: FakeLedger, prov: SampleOrg) -> None:
    response = ledger.invoke(ContractChaincode(Registry()), "register", "E-1",
                             creator=creator(prov, role="officer", province="GD"))
    assert response.status == 200
    assert response.payload.decode().startswith("x509::CN=client@provmsp,OU=client,")
    assert ledger.state == {"E-1": b"GD"}


def test_wrong_msp(ledger: FakeLedger, org1: SampleOrg) -> None:
    response = ledger.invoke(ContractChaincode(Registry()), "register", "E-1",
                             creator=creator(org1, role="officer", province="GD"))
    assert (response.status, response.message) == (
        500, "ERR_UNAUTHORIZED: caller must belong to 'ProvMSP', found MSP 'Org1MSP'")
    assert ledger.state == {}


def test_wrong_role_attribute(ledger: FakeLedger, prov: SampleOrg) -> None:
    response = ledger.invoke(ContractChaincode(Registry()), "register", "E-1",
                             creator=creator(prov, role="emitter", province="GD"))
    assert response.message == "ERR_UNAUTHORIZED: caller must have attribute 'role' = 'officer', found 'emitter'"


def test_missing_attribute(ledger: FakeLedger, prov: SampleOrg) -> None:
    response = ledger.invoke(ContractChaincode(Registry()), "register", "E-1", creator=creator(prov, role="officer"))
    assert response.message == ("ERR_UNAUTHORIZED: caller must have attribute 'province', "
                                "found no 'province' attribute (MSP 'ProvMSP')")


def test_identity_in_a_query(ledger: FakeLedger, prov: SampleOrg) -> None:
    response = ledger.invoke(ContractChaincode(Registry()), "whoami", creator=creator(prov, "admin", role="auditor"))
    assert response.payload == b'{"attributes":{"role":"auditor"},"msp":"ProvMSP","role":"admin"}'


def test_undecodable_creator_fails_only_when_used(ledger: FakeLedger) -> None:
    response = ledger.invoke(ContractChaincode(Registry()), "whoami", creator=b"")
    assert response.status == 500
    assert response.message.startswith("IdentityError: ")
