"""Consensus: who decides the order of envelopes and replicates the chain.

The consenter owns ordering, leadership and replication. It does not validate
envelopes (broadcast does), cut blocks (the block cutter does), sign or store them (the
block writer does). Solo orders on one node; Raft will order on a cluster behind the
same interface.
"""

from __future__ import annotations

from typing import Protocol


class Chain(Protocol):
    """One channel's ordering, as broadcast and the registrar see it."""

    async def order(self, envelope: bytes, size: int) -> None:
        """Accept a validated envelope for ordering (waits when the queue is full)."""
        ...

    def ready(self) -> bool:
        """Whether the chain accepts envelopes now (a Raft follower without leader does not)."""
        ...

    async def start(self) -> None: ...

    async def stop(self) -> None:
        """Stop ordering; cut and write what is pending."""
        ...
