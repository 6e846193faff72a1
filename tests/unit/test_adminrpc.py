"""Admin requests: only a fresh, correctly signed request of an admin of the node's org."""

from __future__ import annotations

import datetime as dt

import pytest

from consortia.adminrpc import AdminAuthError, AdminGate, sign_admin_request
from consortia.protos.v1 import admin_pb2
from tests.support.identities import SampleOrg

pytestmark = pytest.mark.unit


def list_request(signer) -> admin_pb2.SignedAdminRequest:  # type: ignore[no-untyped-def]
    return sign_admin_request(signer, list=admin_pb2.ListChannels())


def test_admin_of_own_org_is_accepted(org1: SampleOrg) -> None:
    admin = org1.identity("admin")
    request, identity = AdminGate(org1.msp).check(list_request(admin), "list")
    assert identity == admin.identity
    assert request.WhichOneof("operation") == "list"


@pytest.mark.parametrize("role", ["client", "peer", "orderer"])
def test_other_roles_are_refused(org1: SampleOrg, role: str) -> None:
    with pytest.raises(AdminAuthError, match=f"is a {role} of Org1MSP, not an admin of Org1MSP"):
        AdminGate(org1.msp).check(list_request(org1.identity(role)), "list")


def test_admin_of_another_org_is_refused(org1: SampleOrg, org2: SampleOrg) -> None:
    with pytest.raises(AdminAuthError, match="belongs to Org2MSP, not to Org1MSP"):
        AdminGate(org1.msp).check(list_request(org2.identity("admin")), "list")


def test_replay_is_refused(org1: SampleOrg) -> None:
    gate = AdminGate(org1.msp)
    request = list_request(org1.identity("admin"))
    gate.check(request, "list")
    with pytest.raises(AdminAuthError, match="replayed"):
        gate.check(request, "list")


def test_stale_request_is_refused(org1: SampleOrg) -> None:
    admin = org1.identity("admin")
    signed = list_request(admin)
    request = admin_pb2.AdminRequest.FromString(signed.request)
    request.timestamp.FromDatetime(dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    data = request.SerializeToString()
    stale = admin_pb2.SignedAdminRequest(request=data, signature=admin.sign(data))
    with pytest.raises(AdminAuthError, match="more than 0:15:00 from this node's clock"):
        AdminGate(org1.msp).check(stale, "list")


def test_tampered_request_is_refused(org1: SampleOrg) -> None:
    signed = list_request(org1.identity("admin"))
    request = admin_pb2.AdminRequest.FromString(signed.request)
    request.ClearField("list")
    request.remove.channel_id = "mychannel"
    forged = admin_pb2.SignedAdminRequest(request=request.SerializeToString(), signature=signed.signature)
    with pytest.raises(AdminAuthError, match="signature does not verify"):
        AdminGate(org1.msp).check(forged, "remove")


def test_operation_must_match_the_method(org1: SampleOrg) -> None:
    with pytest.raises(AdminAuthError, match="carries operation 'list', expected 'join'") as info:
        AdminGate(org1.msp).check(list_request(org1.identity("admin")), "join")
    assert info.value.bad_request


def test_garbage_request_is_bad_request(org1: SampleOrg) -> None:
    with pytest.raises(AdminAuthError, match="not a valid AdminRequest") as info:
        AdminGate(org1.msp).check(admin_pb2.SignedAdminRequest(request=b"\xff\xff"), "list")
    assert info.value.bad_request
