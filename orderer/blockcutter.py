"""Cutting ordered envelopes into batches, with Fabric's rules (and no I/O).

- An envelope larger than PreferredMaxBytes is cut alone, after cutting what is pending.
- An envelope that would take the pending batch past PreferredMaxBytes cuts the pending
  batch first, then starts the next one.
- A batch is cut as soon as it holds MaxMessageCount envelopes.
- Whatever is pending is cut when the batch timeout expires; the timeout runs from the
  moment the first envelope of the pending batch arrived (`pending_since`).

An envelope's size is len(payload) + len(signature), as Fabric counts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fabric_protos.common import common_pb2


@dataclass(frozen=True)
class BatchLimits:
    max_message_count: int
    preferred_max_bytes: int


def envelope_size(envelope: common_pb2.Envelope) -> int:
    return len(envelope.payload) + len(envelope.signature)


@dataclass
class BlockCutter:
    limits: BatchLimits
    _pending: list[bytes] = field(default_factory=list)
    _pending_bytes: int = 0
    pending_since: float | None = None

    @property
    def pending_count(self) -> int:
        return len(self._pending)

    def ordered(self, envelope: bytes, size: int, now: float) -> list[list[bytes]]:
        """Add one envelope (its serialized bytes and Fabric size); return the batches cut."""
        batches: list[list[bytes]] = []
        if size > self.limits.preferred_max_bytes:
            if self._pending:
                batches.append(self.cut())
            batches.append([envelope])
            return batches
        if self._pending_bytes + size > self.limits.preferred_max_bytes:
            batches.append(self.cut())
        if not self._pending:
            self.pending_since = now
        self._pending.append(envelope)
        self._pending_bytes += size
        if len(self._pending) >= self.limits.max_message_count:
            batches.append(self.cut())
        return batches

    def cut(self) -> list[bytes]:
        """Take the pending batch (possibly empty)."""
        batch = self._pending
        self._pending = []
        self._pending_bytes = 0
        self.pending_since = None
        return batch
