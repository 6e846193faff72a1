"""Coroutines waiting for particular transactions to commit on a channel.

The gateway's CommitStatus calls wait here, one per submitted transaction. Each block
commit wakes exactly the waiters of the transactions it holds: waking every waiter at
every block, for each to look its transaction up again, cost a ledger lookup and a
coroutine switch per waiter per block, which with hundreds in flight was more than the
transactions themselves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable

# (block number, position in the block, validation code)
Location = tuple[int, int, int]


class TxWaiters:
    def __init__(self) -> None:
        self._waiting: dict[str, list[asyncio.Future[Location]]] = {}

    async def wait(self, tx_id: str, lookup: Callable[[], Location | None]) -> Location:
        """Where `tx_id` committed: `lookup()` (the ledger's index) if it already has it,
        else the block commit that holds it, however long that takes."""
        future: asyncio.Future[Location] = asyncio.get_running_loop().create_future()
        waiting = self._waiting.setdefault(tx_id, [])
        waiting.append(future)  # before looking: a commit announced meanwhile is not missed
        try:
            found = lookup()
            return found if found is not None else await future
        finally:
            waiting.remove(future)
            if not waiting and self._waiting.get(tx_id) is waiting:
                del self._waiting[tx_id]

    def committed(self, block: int, transactions: Iterable[tuple[str, int, int]]) -> None:
        """Block `block` committed these (tx id, position, code): wake their waiters. A tx
        id found twice is where it first appears, as the ledger's index has it."""
        waiting = self._waiting
        if not waiting:
            return
        for tx_id, position, code in transactions:
            futures = waiting.pop(tx_id, None)
            for future in futures or ():
                if not future.done():
                    future.set_result((block, position, code))
