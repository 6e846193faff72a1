"""The set of MSPs a channel knows: decode any creator and route it to its org's MSP.

The same creator bytes arrive again and again (every transaction of a client, every
endorsement of a peer), so decoded identities are cached by their bytes.

A peer also validates, in each block, the endorsements it signed itself a moment
before. `record_own_signature` notes such a signature (the signer checked that its
key is the one its certificate names), and `verify_signed_data` then spares the
ECDSA check of exactly those bytes, once; everything else about the signer (its MSP
validation, the certificate's validity at the time asked) is checked as always.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable

from consortia.errors import IdentityError
from consortia.msp.identity import Identity, Role, deserialize_identity
from consortia.msp.msp import MSP
from consortia.msp.signing import SignedData, verify_signature

_IDENTITY_CACHE_SIZE = 4096
_OWN_SIGNATURES = 8192  # several blocks' worth of this peer's endorsements
_MISSING = object()


def _signed_key(signed: SignedData) -> bytes:
    digest = hashlib.sha256()
    for part in (signed.identity, signed.data, signed.signature):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.digest()


class MSPManager:
    """Every MSP of one channel (or of one node's local view), keyed by MSP id."""

    def __init__(self, msps: Iterable[MSP]) -> None:
        self._msps: dict[str, MSP] = {}
        for msp in msps:
            if msp.msp_id in self._msps:
                raise IdentityError(f"MSP id {msp.msp_id} is defined twice")
            self._msps[msp.msp_id] = msp
        self._identities: dict[bytes, Identity] = {}
        # Signatures this process made with a key that matches its certificate (validators
        # run in another thread than the endorser: hence the lock).
        self._own: OrderedDict[bytes, None] = OrderedDict()
        self._own_lock = threading.Lock()

    @property
    def msp_ids(self) -> tuple[str, ...]:
        return tuple(self._msps)

    def get(self, msp_id: str) -> MSP:
        try:
            return self._msps[msp_id]
        except KeyError:
            known = ", ".join(sorted(self._msps)) or "none"
            raise IdentityError(f"MSP {msp_id!r} is not known here (known: {known})") from None

    def deserialize(self, serialized: bytes) -> Identity:
        """Decode creator bytes of an org this manager knows (not yet validated)."""
        identity = self._identities.get(serialized)
        if identity is None:
            identity = deserialize_identity(serialized)
            self.get(identity.msp_id)
            if len(self._identities) >= _IDENTITY_CACHE_SIZE:
                self._identities.pop(next(iter(self._identities)))
            self._identities[serialized] = identity
        return identity

    def record_own_signature(self, signed: SignedData) -> None:
        """Note a signature this process just made over `signed.data`, with the private key
        of `signed.identity` (the caller has checked that the key matches the certificate):
        it verifies, and need not be checked again."""
        key = _signed_key(signed)
        with self._own_lock:
            self._own[key] = None
            if len(self._own) > _OWN_SIGNATURES:
                self._own.popitem(last=False)

    def verify_signed_data(self, signed: SignedData) -> Identity:
        """Decode the signer and check its signature (as `signing.verify_signed_data`);
        the signer is not yet validated."""
        identity = self.deserialize(signed.identity)
        if self._own:
            with self._own_lock:
                known = self._own.pop(_signed_key(signed), _MISSING) is not _MISSING
            if known:
                return identity
        verify_signature(identity.public_key, signed.signature, signed.data)
        return identity

    def validate(self, identity: Identity, at: dt.datetime | None = None) -> Role:
        """Validate with the identity's own MSP; return its role. See `MSP.validate`."""
        return self.get(identity.msp_id).validate(identity, at)

    def deserialize_and_validate(self, serialized: bytes, at: dt.datetime | None = None) -> Identity:
        identity = self.deserialize(serialized)
        self.validate(identity, at)
        return identity

    def satisfies(self, identity: Identity, msp_id: str, role: Role) -> bool:
        msp = self._msps.get(msp_id)
        return msp is not None and msp.satisfies(identity, msp_id, role)
