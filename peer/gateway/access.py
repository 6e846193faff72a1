"""Who may ask for a transaction's status or a chaincode's events: a member of the
channel that signed the request and satisfies its Readers policy (Fabric's default
ACL for gateway/CommitStatus and gateway/ChaincodeEvents)."""

from __future__ import annotations

import datetime as dt

from consortia.channelconfig.bundle import ChannelBundle
from consortia.delivery import check_signer
from consortia.errors import IdentityError, PolicyError, SignatureError
from consortia.msp.signing import SignedData
from consortia.policy.paths import APPLICATION_READERS
from peer.gateway.errors import Code, GatewayError


def authorize(bundle: ChannelBundle, request: bytes, identity: bytes, signature: bytes) -> None:
    """GatewayError(PERMISSION_DENIED) saying which check failed."""
    try:
        check_signer(SignedData(data=request, identity=identity, signature=signature), bundle.msp_manager,
                     bundle.policies, APPLICATION_READERS, dt.datetime.now(dt.timezone.utc))
    except (IdentityError, SignatureError, PolicyError) as exc:
        raise GatewayError(Code.PERMISSION_DENIED, f"access denied on channel {bundle.channel_id}: {exc}") from exc
