"""The block cutter against a direct model of Fabric's rules, on every kind of input."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderer.blockcutter import BatchLimits, BlockCutter

pytestmark = pytest.mark.unit


def test_cuts_at_max_message_count() -> None:
    cutter = BlockCutter(BatchLimits(max_message_count=3, preferred_max_bytes=1000))
    assert cutter.ordered(b"a", 1, now=1.0) == []
    assert cutter.pending_since == 1.0
    assert cutter.ordered(b"b", 1, now=2.0) == []
    assert cutter.pending_since == 1.0  # the timer runs from the first pending envelope
    assert cutter.ordered(b"c", 1, now=3.0) == [[b"a", b"b", b"c"]]
    assert cutter.pending_since is None and cutter.pending_count == 0


def test_oversized_envelope_is_cut_alone_after_pending() -> None:
    cutter = BlockCutter(BatchLimits(max_message_count=10, preferred_max_bytes=100))
    cutter.ordered(b"a", 10, now=0.0)
    assert cutter.ordered(b"big", 101, now=1.0) == [[b"a"], [b"big"]]
    assert cutter.pending_count == 0 and cutter.pending_since is None
    assert cutter.ordered(b"big2", 500, now=2.0) == [[b"big2"]]


def test_overflow_cuts_pending_then_starts_a_new_batch() -> None:
    cutter = BlockCutter(BatchLimits(max_message_count=10, preferred_max_bytes=100))
    cutter.ordered(b"a", 60, now=0.0)
    assert cutter.ordered(b"b", 50, now=5.0) == [[b"a"]]
    assert cutter.pending_count == 1
    assert cutter.pending_since == 5.0  # the new batch's first envelope restarts the timer
    # Exactly PreferredMaxBytes still fits.
    assert cutter.ordered(b"c", 50, now=6.0) == []
    assert cutter.cut() == [b"b", b"c"]


def test_cut_of_nothing_is_empty() -> None:
    cutter = BlockCutter(BatchLimits(max_message_count=1, preferred_max_bytes=1))
    assert cutter.cut() == []


def model(limits: BatchLimits, sizes: list[int]) -> tuple[list[list[int]], list[int]]:
    """Fabric's blockcutter.Ordered, restated over envelope indexes."""
    batches: list[list[int]] = []
    pending: list[int] = []
    pending_bytes = 0
    for index, size in enumerate(sizes):
        if size > limits.preferred_max_bytes:
            if pending:
                batches.append(pending)
                pending, pending_bytes = [], 0
            batches.append([index])
            continue
        if pending_bytes + size > limits.preferred_max_bytes:
            batches.append(pending)
            pending, pending_bytes = [], 0
        pending.append(index)
        pending_bytes += size
        if len(pending) >= limits.max_message_count:
            batches.append(pending)
            pending, pending_bytes = [], 0
    return batches, pending


@settings(max_examples=400, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=6),
    preferred=st.integers(min_value=1, max_value=60),
    sizes=st.lists(st.integers(min_value=1, max_value=80), max_size=40),
)
def test_matches_fabric_model(count: int, preferred: int, sizes: list[int]) -> None:
    limits = BatchLimits(max_message_count=count, preferred_max_bytes=preferred)
    cutter = BlockCutter(limits)
    cut: list[list[bytes]] = []
    for index, size in enumerate(sizes):
        cut.extend(cutter.ordered(str(index).encode(), size, now=float(index)))
    expected_batches, expected_pending = model(limits, sizes)
    assert cut == [[str(i).encode() for i in b] for b in expected_batches]
    assert cutter.pending_count == len(expected_pending)
    remainder = cutter.cut()
    assert remainder == [str(i).encode() for i in expected_pending]
    # Every envelope in exactly one batch, in order.
    flat = [e for batch in cut + [remainder] for e in batch]
    assert flat == [str(i).encode() for i in range(len(sizes))]
    assert all(batch for batch in cut)
