"""Who may ask for a transaction's status or a chaincode's events: a member of the
channel that signed the request and satisfies its Readers policy (Fabric's default
ACL for gateway/CommitStatus and gateway/ChaincodeEvents)."""

from __future__ import annotations

import datetime as dt

from consortia.channelconfig.bundle import ChannelBundle
from consortia.errors import IdentityError, PolicyError, SignatureError
from consortia.msp.signing import SignedData, verify_signed_data
from peer.gateway.errors import Code, GatewayError

READERS = "/Channel/Application/Readers"


def authorize(bundle: ChannelBundle, request: bytes, identity: bytes, signature: bytes) -> None:
    """GatewayError(PERMISSION_DENIED) saying which check failed."""
    try:
        signer = verify_signed_data(SignedData(data=request, identity=identity, signature=signature), bundle.msp_manager)
        bundle.msp_manager.validate(signer, dt.datetime.now(dt.timezone.utc))
        bundle.policies.check(READERS, [signer])
    except (IdentityError, SignatureError, PolicyError) as exc:
        raise GatewayError(Code.PERMISSION_DENIED, f"access denied on channel {bundle.channel_id}: {exc}") from exc
