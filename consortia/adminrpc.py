"""Signed admin requests: how a node knows an admin of its own org is asking.

The client signs the serialized `AdminRequest` (creator, nonce, timestamp, operation);
the node verifies the signature over those exact bytes, checks that the creator is a
valid *admin* of the node's organization, that the timestamp is close to its own clock,
and that the nonce was not seen within that window (no replays).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import OrderedDict
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from consortia.errors import ConsortiaError, IdentityError, SignatureError
from consortia.msp.identity import Identity, Role
from consortia.msp.msp import MSP
from consortia.msp.signing import SignedData, verify_signed_data
from consortia.protos.v1 import admin_pb2
from consortia.protoutil.envelope import now_timestamp
from consortia.protoutil.signer import Signer
from consortia.protoutil.txid import new_nonce

DEFAULT_MAX_SKEW = dt.timedelta(minutes=15)


class AdminAuthError(ConsortiaError):
    """The request is malformed (`bad_request`) or its creator may not do this."""

    def __init__(self, message: str, *, bad_request: bool = False) -> None:
        super().__init__(message)
        self.bad_request = bad_request


def sign_admin_request(signer: Signer, **operation: object) -> admin_pb2.SignedAdminRequest:
    """`sign_admin_request(signer, join=admin_pb2.JoinChannel(...))` and the like."""
    request = admin_pb2.AdminRequest(
        creator=signer.serialize(), nonce=new_nonce(), timestamp=now_timestamp(), **operation  # type: ignore[arg-type]
    )
    data = request.SerializeToString()
    return admin_pb2.SignedAdminRequest(request=data, signature=signer.sign(data))


@dataclass
class AdminGate:
    """Checks admin requests against the node's own MSP."""

    msp: MSP
    max_skew: dt.timedelta = DEFAULT_MAX_SKEW

    def __post_init__(self) -> None:
        self._seen: OrderedDict[bytes, float] = OrderedDict()

    def check(self, signed: admin_pb2.SignedAdminRequest, operation: str) -> tuple[admin_pb2.AdminRequest, Identity]:
        """The verified request and its creator; AdminAuthError saying why not."""
        try:
            request = admin_pb2.AdminRequest.FromString(signed.request)
        except DecodeError as exc:
            raise AdminAuthError(f"admin request is not a valid AdminRequest: {exc}", bad_request=True) from exc
        if request.WhichOneof("operation") != operation:
            raise AdminAuthError(
                f"admin request carries operation {request.WhichOneof('operation')!r}, expected {operation!r}",
                bad_request=True,
            )
        if not request.nonce:
            raise AdminAuthError("admin request has no nonce", bad_request=True)
        now = dt.datetime.now(dt.timezone.utc)
        sent = request.timestamp.ToDatetime(tzinfo=dt.timezone.utc)
        if abs(now - sent) > self.max_skew:
            raise AdminAuthError(
                f"admin request timestamp {sent.isoformat()} is more than {self.max_skew} from this node's clock "
                f"({now.isoformat()})"
            )
        try:
            identity = verify_signed_data(
                SignedData(data=signed.request, identity=request.creator, signature=signed.signature), self.msp
            )
            role = self.msp.validate(identity, at=now)
        except (IdentityError, SignatureError) as exc:
            raise AdminAuthError(f"admin request refused: {exc}") from exc
        if role is not Role.ADMIN:
            raise AdminAuthError(
                f"admin request refused: {identity.common_name!r} is a {role.label} of {identity.msp_id}, "
                f"not an admin of {self.msp.msp_id}"
            )
        self._remember(request.nonce)
        return request, identity

    def _remember(self, nonce: bytes) -> None:
        now = time.monotonic()
        horizon = now - 2 * self.max_skew.total_seconds()
        while self._seen and next(iter(self._seen.values())) < horizon:
            self._seen.popitem(last=False)
        if nonce in self._seen:
            raise AdminAuthError("admin request was already used (replayed nonce)")
        self._seen[nonce] = now
