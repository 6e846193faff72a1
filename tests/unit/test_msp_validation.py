"""MSP validation: is this identity a valid member of this organization, and in which role?

A valid identity chains to one of the MSP's root CAs (through its intermediate CAs), is
not itself a CA, and with NodeOUs carries exactly one role OU. Lifetimes are checked only
at an instant the caller gives. `satisfies` answers policy principals; `MSPManager` routes
each identity to its own MSP.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from consortia.errors import IdentityError
from consortia.msp.ca import CertificateAuthority
from consortia.msp.identity import Identity, Role, serialize_identity
from consortia.msp.manager import MSPManager
from consortia.msp.msp import MSP, NodeOUs
from consortia.types import MspId
from tests.support.identities import SampleOrg, make_org, manager, signing_identity

pytestmark = pytest.mark.unit

ROLES = ["client", "peer", "admin", "orderer"]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _as_identity(msp_id: str, ca: CertificateAuthority, role: str = "client") -> Identity:
    """An identity of `msp_id` whose certificate was issued by `ca`, whoever that is."""
    return signing_identity(msp_id, ca.issue(f"{role}@{msp_id}", organizational_units=[role])).identity


def _ca_cert_as_identity(msp_id: str, ca: CertificateAuthority) -> Identity:
    serialized = serialize_identity(msp_id, ca.certificate_pem)
    return Identity(msp_id=MspId(msp_id), certificate=ca.certificate, serialized=serialized)


def _intermediate(root: CertificateAuthority, **kwargs: object) -> CertificateAuthority:
    pair = root.issue("ica.org1.test", is_ca=True, **kwargs)  # type: ignore[arg-type]
    return CertificateAuthority(key=pair.key, certificate=pair.certificate)


# --- roles -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_valid_identity_of_each_role(org1: SampleOrg, role: str) -> None:
    assert org1.msp.validate(org1.identity(role).identity) is Role[role.upper()]


def test_validate_with_now_accepts_a_current_identity(org1: SampleOrg) -> None:
    assert org1.msp.validate(org1.identity("peer").identity, at=_now()) is Role.PEER


@pytest.mark.parametrize(
    ("ous", "problem", "found"),
    [
        pytest.param([], "no role OU", "none", id="no-ou"),
        pytest.param(["other"], "no role OU", "other", id="unknown-ou"),
        pytest.param(["client", "peer"], "more than one role OU", "client, peer", id="two-roles"),
    ],
)
def test_identity_without_exactly_one_role_ou_is_rejected(
    org1: SampleOrg, ous: list[str], problem: str, found: str
) -> None:
    identity = org1.identity(name="odd@org1", ous=ous).identity
    expected = (
        f"'odd@org1' of Org1MSP has {problem}: "
        f"expected exactly one of client, peer, admin, orderer; found OU {found}"
    )
    with pytest.raises(IdentityError, match=re.escape(expected)):
        org1.msp.validate(identity)


def test_extra_non_role_ous_are_allowed(org1: SampleOrg) -> None:
    identity = org1.identity(ous=["department1", "peer"]).identity
    assert org1.msp.validate(identity) is Role.PEER


def test_node_ous_disabled_makes_every_identity_a_member(org1: SampleOrg) -> None:
    msp = MSP("Org1MSP", [org1.ca.certificate], node_ous=NodeOUs(enabled=False))
    for ous in ([], ["other"], ["admin"], ["client", "peer"]):
        assert msp.validate(org1.identity(ous=ous).identity) is Role.MEMBER


def test_custom_node_ou_identifiers(org1: SampleOrg) -> None:
    msp = MSP("Org1MSP", [org1.ca.certificate], node_ous=NodeOUs(client="users", peer="nodes"))
    assert msp.validate(org1.identity(ous=["users"]).identity) is Role.CLIENT
    assert msp.validate(org1.identity(ous=["nodes"]).identity) is Role.PEER
    with pytest.raises(IdentityError, match="expected exactly one of users, nodes, admin, orderer; found OU client"):
        msp.validate(org1.identity("client").identity)


# --- who issued it -------------------------------------------------------------------------


def test_certificate_from_a_foreign_ca_is_rejected(org1: SampleOrg, org2: SampleOrg) -> None:
    identity = _as_identity("Org1MSP", org2.ca)
    with pytest.raises(IdentityError, match="was not issued by a CA of Org1MSP"):
        org1.msp.validate(identity)


def test_identity_of_another_msp_is_rejected(org1: SampleOrg, org2: SampleOrg) -> None:
    identity = org2.identity("client").identity
    with pytest.raises(IdentityError, match="identity belongs to Org2MSP, not to Org1MSP"):
        org1.msp.validate(identity)
    with pytest.raises(IdentityError, match="identity belongs to Org2MSP, not to Org1MSP"):
        org1.msp.deserialize(identity.serialized)


def test_forged_certificate_naming_the_org_ca_as_issuer_is_rejected(org1: SampleOrg) -> None:
    # Same subject as Org1's CA, different key: only the signature tells them apart.
    forger = CertificateAuthority.create("ca.org1msp.test", "org1msp.test")
    assert forger.certificate.subject == org1.ca.certificate.subject
    identity = _as_identity("Org1MSP", forger)
    assert identity.certificate.issuer == org1.ca.certificate.subject
    with pytest.raises(IdentityError, match="was not issued by a CA of Org1MSP"):
        org1.msp.validate(identity)


def test_ca_certificate_used_as_an_identity_is_rejected(org1: SampleOrg) -> None:
    with pytest.raises(IdentityError, match="is a CA certificate and cannot be used as an identity"):
        org1.msp.validate(_ca_cert_as_identity("Org1MSP", org1.ca))


def test_leaf_issued_by_a_configured_intermediate_ca_is_valid(org1: SampleOrg) -> None:
    ica = _intermediate(org1.ca)
    msp = MSP("Org1MSP", root_certs=[org1.ca.certificate], intermediate_certs=[ica.certificate])
    assert msp.validate(_as_identity("Org1MSP", ica, "peer"), at=_now()) is Role.PEER


def test_leaf_of_an_intermediate_ca_that_is_not_configured_is_rejected(org1: SampleOrg) -> None:
    ica = _intermediate(org1.ca)
    with pytest.raises(IdentityError, match="was not issued by a CA of Org1MSP"):
        org1.msp.validate(_as_identity("Org1MSP", ica))


def test_intermediate_ca_of_a_foreign_root_is_rejected(org1: SampleOrg, org2: SampleOrg) -> None:
    ica = _intermediate(org2.ca)
    msp = MSP("Org1MSP", root_certs=[org1.ca.certificate], intermediate_certs=[ica.certificate])
    # The chain stops at the intermediate's issuer, Org2's root, and the message names it.
    with pytest.raises(IdentityError, match=r"of Org1MSP \(issuer CN=ca.org2msp.test,.* is not among"):
        msp.validate(_as_identity("Org1MSP", ica))


def test_intermediate_ca_certificate_used_as_an_identity_is_rejected(org1: SampleOrg) -> None:
    ica = _intermediate(org1.ca)
    msp = MSP("Org1MSP", root_certs=[org1.ca.certificate], intermediate_certs=[ica.certificate])
    with pytest.raises(IdentityError, match="is a CA certificate"):
        msp.validate(_ca_cert_as_identity("Org1MSP", ica))


# --- lifetimes ------------------------------------------------------------------------------


def test_expired_certificate_is_rejected_only_when_an_instant_is_given(org1: SampleOrg) -> None:
    """Without `at`, validation ignores the clock, so that block validation is deterministic:
    every peer, whenever it validates or replays a block, reaches the same outcome."""
    not_before = _now() - dt.timedelta(days=30)
    org = make_org("Org1MSP", not_before=not_before - dt.timedelta(days=1))
    identity = org.identity("client", not_before=not_before, lifetime=dt.timedelta(days=1)).identity
    msp = org.msp
    with pytest.raises(IdentityError, match=r"certificate of client@org1msp \(Org1MSP\) expired at"):
        msp.validate(identity, at=_now())
    assert msp.validate(identity) is Role.CLIENT
    assert msp.validate(identity, at=not_before + dt.timedelta(hours=1)) is Role.CLIENT
    # A cached successful validation must not skip the lifetime check.
    with pytest.raises(IdentityError, match="expired at"):
        msp.validate(identity, at=_now())


def test_not_yet_valid_certificate_is_rejected_at_now(org1: SampleOrg) -> None:
    identity = org1.identity("client", not_before=_now() + dt.timedelta(days=1)).identity
    with pytest.raises(IdentityError, match="is not valid before"):
        org1.msp.validate(identity, at=_now())
    assert org1.msp.validate(identity) is Role.CLIENT


def test_expired_ca_certificate_is_rejected_at_now() -> None:
    org = make_org("LapsedMSP", not_before=_now() - dt.timedelta(days=30), lifetime=dt.timedelta(days=1))
    identity = org.identity("client").identity  # the leaf itself is current
    assert identity.certificate.not_valid_after_utc > _now()
    with pytest.raises(IdentityError, match=r"CA certificate .*CN=ca.lapsedmsp.test.* of LapsedMSP expired at"):
        org.msp.validate(identity, at=_now())
    assert org.msp.validate(identity) is Role.CLIENT


def test_expired_intermediate_ca_is_rejected_at_now(org1: SampleOrg) -> None:
    ica = _intermediate(org1.ca, not_before=_now() - dt.timedelta(days=30), lifetime=dt.timedelta(days=1))
    msp = MSP("Org1MSP", root_certs=[org1.ca.certificate], intermediate_certs=[ica.certificate])
    with pytest.raises(IdentityError, match="CA certificate .*CN=ica.org1.test.* expired at"):
        msp.validate(_as_identity("Org1MSP", ica), at=_now())


# --- constructor ----------------------------------------------------------------------------


def test_msp_refuses_a_non_ca_certificate_as_root(org1: SampleOrg) -> None:
    leaf = org1.identity("client").identity.certificate
    with pytest.raises(IdentityError, match="is configured as a CA but is not a CA certificate"):
        MSP("Org1MSP", root_certs=[leaf])


def test_msp_refuses_a_non_ca_certificate_as_intermediate(org1: SampleOrg) -> None:
    leaf = org1.identity("client").identity.certificate
    with pytest.raises(IdentityError, match="is configured as a CA but is not a CA certificate"):
        MSP("Org1MSP", root_certs=[org1.ca.certificate], intermediate_certs=[leaf])


def test_msp_refuses_an_empty_root_list() -> None:
    with pytest.raises(IdentityError, match="MSP Org1MSP has no root CA certificate"):
        MSP("Org1MSP", root_certs=[])


def test_msp_refuses_an_empty_msp_id(org1: SampleOrg) -> None:
    with pytest.raises(IdentityError, match="non-empty MSP id"):
        MSP("", root_certs=[org1.ca.certificate])


def test_certificates_from_pem(org1: SampleOrg, org2: SampleOrg) -> None:
    bundle = org1.ca.certificate_pem + org2.ca.certificate_pem
    assert MSP.certificates_from_pem([bundle]) == [org1.ca.certificate, org2.ca.certificate]
    with pytest.raises(IdentityError, match="not a PEM certificate"):
        MSP.certificates_from_pem([b"garbage"])


# --- satisfies -----------------------------------------------------------------------------


@pytest.mark.parametrize("actual", ROLES)
@pytest.mark.parametrize("principal", list(Role))
def test_satisfies_member_by_any_role_and_other_roles_only_by_their_ou(
    org1: SampleOrg, actual: str, principal: Role
) -> None:
    identity = org1.identity(actual).identity
    expected = principal is Role.MEMBER or principal.label == actual
    assert org1.msp.satisfies(identity, "Org1MSP", principal) is expected


def test_satisfies_is_false_for_another_msp_id(org1: SampleOrg, org2: SampleOrg) -> None:
    assert not org1.msp.satisfies(org1.identity("admin").identity, "Org2MSP", Role.MEMBER)
    assert not org1.msp.satisfies(org2.identity("admin").identity, "Org1MSP", Role.MEMBER)


def test_satisfies_is_false_for_an_invalid_identity(org1: SampleOrg, org2: SampleOrg) -> None:
    assert not org1.msp.satisfies(_as_identity("Org1MSP", org2.ca, "admin"), "Org1MSP", Role.MEMBER)
    assert not org1.msp.satisfies(org1.identity(ous=[]).identity, "Org1MSP", Role.MEMBER)


# --- MSPManager -----------------------------------------------------------------------------


def test_manager_refuses_an_unknown_msp_and_lists_the_known_ones(
    org1: SampleOrg, org2: SampleOrg, org3: SampleOrg
) -> None:
    msps = manager(org2, org1)
    with pytest.raises(IdentityError, match=re.escape("MSP 'Org3MSP' is not known here (known: Org1MSP, Org2MSP)")):
        msps.deserialize(org3.identity("client").serialize())
    with pytest.raises(IdentityError, match="'Org3MSP' is not known here"):
        msps.get("Org3MSP")


def test_manager_refuses_duplicate_msp_ids(org1: SampleOrg) -> None:
    with pytest.raises(IdentityError, match="MSP id Org1MSP is defined twice"):
        MSPManager([org1.msp, org1.msp])


def test_manager_routes_each_identity_to_its_own_msp(org1: SampleOrg, org2: SampleOrg) -> None:
    msps = manager(org1, org2)
    assert msps.msp_ids == ("Org1MSP", "Org2MSP")
    assert msps.validate(org1.identity("peer").identity) is Role.PEER
    assert msps.validate(org2.identity("admin").identity) is Role.ADMIN
    assert msps.satisfies(org2.identity("admin").identity, "Org2MSP", Role.ADMIN)
    assert not msps.satisfies(org2.identity("admin").identity, "Org3MSP", Role.MEMBER)


def test_manager_deserialize_and_validate(org1: SampleOrg, org2: SampleOrg) -> None:
    msps = manager(org1, org2)
    signer = org1.identity("client")
    assert msps.deserialize_and_validate(signer.serialize(), at=_now()) == signer.identity
    forged = _as_identity("Org1MSP", org2.ca)
    with pytest.raises(IdentityError, match="was not issued by a CA of Org1MSP"):
        msps.deserialize_and_validate(forged.serialized)


def test_manager_caches_decoded_identities_by_their_bytes(org1: SampleOrg) -> None:
    msps = manager(org1)
    serialized = org1.identity("client").serialize()
    first = msps.deserialize(serialized)
    second = msps.deserialize(bytes(serialized))
    assert first == second
    assert first is second
