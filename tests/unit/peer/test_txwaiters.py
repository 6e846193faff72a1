"""TxWaiters: a block commit wakes the waiters of its own transactions, and only them."""

from __future__ import annotations

import asyncio

import pytest

from peer.txwaiters import Location, TxWaiters

pytestmark = pytest.mark.unit


def never() -> Location | None:
    return None


def test_each_waiter_gets_its_own_transaction() -> None:
    async def main() -> None:
        waiters = TxWaiters()
        a1 = asyncio.create_task(waiters.wait("a", never))
        a2 = asyncio.create_task(waiters.wait("a", never))
        b = asyncio.create_task(waiters.wait("b", never))
        await asyncio.sleep(0)
        waiters.committed(7, [("c", 0, 0), ("a", 1, 11)])
        assert await asyncio.wait_for(a1, 1) == (7, 1, 11)
        assert await asyncio.wait_for(a2, 1) == (7, 1, 11)
        await asyncio.sleep(0.01)
        assert not b.done()
        waiters.committed(8, [("b", 0, 0)])
        assert await asyncio.wait_for(b, 1) == (8, 0, 0)
        assert waiters._waiting == {}

    asyncio.run(main())


def test_a_tx_id_twice_in_a_block_counts_where_it_first_appears() -> None:
    async def main() -> None:
        waiters = TxWaiters()
        a = asyncio.create_task(waiters.wait("a", never))
        await asyncio.sleep(0)
        waiters.committed(3, [("a", 0, 0), ("a", 4, 9)])  # the second is a DUPLICATE_TXID
        assert await asyncio.wait_for(a, 1) == (3, 0, 0)

    asyncio.run(main())


def test_found_by_the_lookup_without_waiting() -> None:
    async def main() -> None:
        waiters = TxWaiters()
        assert await asyncio.wait_for(waiters.wait("a", lambda: (2, 5, 0)), 1) == (2, 5, 0)
        assert waiters._waiting == {}

    asyncio.run(main())


def test_a_waiter_that_gives_up_leaves_nothing_behind() -> None:
    async def main() -> None:
        waiters = TxWaiters()
        staying = asyncio.create_task(waiters.wait("a", never))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(waiters.wait("a", never), 0.01)
        assert len(waiters._waiting["a"]) == 1
        staying.cancel()
        with pytest.raises(asyncio.CancelledError):
            await staying
        assert waiters._waiting == {}
        waiters.committed(1, [("a", 0, 0)])  # nobody left to wake: nothing fails

    asyncio.run(main())
