"""A peer's own endorsement signatures: noted when signed, spared the ECDSA check once.

`MSPManager.verify_signed_data` answers exactly as `signing.verify_signed_data` does;
only a signature recorded for the very same identity, bytes and signature skips the
curve arithmetic, and only once.
"""

from __future__ import annotations

import pytest

from consortia.errors import SignatureError
from consortia.msp import manager as manager_module
from consortia.msp.signing import SignedData
from tests.support.identities import SampleOrg, manager

pytestmark = pytest.mark.unit


def _signed(org: SampleOrg, data: bytes) -> SignedData:
    signer = org.identity("peer")
    return SignedData(data=data, identity=signer.serialize(), signature=signer.sign(data))


def test_a_good_signature_verifies_whether_recorded_or_not(org1: SampleOrg) -> None:
    msps = manager(org1)
    signed = _signed(org1, b"payload")
    assert msps.verify_signed_data(signed).msp_id == org1.msp_id
    msps.record_own_signature(signed)
    assert msps.verify_signed_data(signed).msp_id == org1.msp_id  # from the record
    assert msps.verify_signed_data(signed).msp_id == org1.msp_id  # checked again


def test_a_recorded_signature_is_used_once_and_only_for_its_own_bytes(org1: SampleOrg,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    msps = manager(org1)
    signed = _signed(org1, b"payload")
    msps.record_own_signature(signed)
    checked: list[bytes] = []
    real = manager_module.verify_signature

    def counting(key: object, signature: bytes, data: bytes) -> None:
        checked.append(data)
        real(key, signature, data)  # type: ignore[arg-type]

    monkeypatch.setattr(manager_module, "verify_signature", counting)
    other = SignedData(data=b"other", identity=signed.identity, signature=signed.signature)
    with pytest.raises(SignatureError):
        msps.verify_signed_data(other)
    msps.verify_signed_data(signed)
    msps.verify_signed_data(signed)
    assert checked == [b"other", b"payload"]


def test_the_record_is_bounded(org1: SampleOrg, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(manager_module, "_OWN_SIGNATURES", 2)
    msps = manager(org1)
    signed = [_signed(org1, bytes([i])) for i in range(3)]
    for s in signed:
        msps.record_own_signature(s)
    assert len(msps._own) == 2
