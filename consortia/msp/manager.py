"""The set of MSPs a channel knows: decode any creator and route it to its org's MSP.

The same creator bytes arrive again and again (every transaction of a client, every
endorsement of a peer), so decoded identities are cached by their bytes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from consortia.errors import IdentityError
from consortia.msp.identity import Identity, Role, deserialize_identity
from consortia.msp.msp import MSP

_IDENTITY_CACHE_SIZE = 4096


class MSPManager:
    """Every MSP of one channel (or of one node's local view), keyed by MSP id."""

    def __init__(self, msps: Iterable[MSP]) -> None:
        self._msps: dict[str, MSP] = {}
        for msp in msps:
            if msp.msp_id in self._msps:
                raise IdentityError(f"MSP id {msp.msp_id} is defined twice")
            self._msps[msp.msp_id] = msp
        self._identities: dict[bytes, Identity] = {}

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
