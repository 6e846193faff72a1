"""What protoutil needs from whoever signs: its creator bytes and a signature."""

from typing import Protocol


class Signer(Protocol):
    """A signing identity (`consortia.msp.SigningIdentity` is one)."""

    def serialize(self) -> bytes:
        """The serialized `msp.SerializedIdentity` that goes into signature headers."""
        ...

    def sign(self, message: bytes) -> bytes:
        """A DER ECDSA-SHA256 low-S signature of `message`."""
        ...
