"""Stopping background tasks without losing the caller's own cancellation.

The usual `task.cancel(); await task` with `except CancelledError: pass` cannot tell the
stopped task's cancellation from the caller's: if the caller is cancelled while it
waits (a client shutting down under a timeout, say), the cancellation is swallowed and
the caller carries on as if nothing happened. `asyncio.wait` only ever raises for the
caller, so it draws that line; and the tasks are still waited for, so a `stop()` that
goes on to close what they use never closes it under them.
"""

from __future__ import annotations

import asyncio
from typing import Any


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel `tasks` (None is skipped) and wait until each has finished, whatever it
    returned or raised. If the caller is cancelled meanwhile, it still waits for them,
    then raises CancelledError: put what must happen after them in a `finally`."""
    pending = {task for task in tasks if task is not None}
    for task in pending:
        task.cancel()
    caller_cancelled = False
    while pending:
        try:
            _, pending = await asyncio.wait(pending)
        except asyncio.CancelledError:
            caller_cancelled = True
    for finished in tasks:
        if finished is not None and not finished.cancelled():
            finished.exception()  # retrieved: a task that failed as it stopped is not reported again
    if caller_cancelled:
        raise asyncio.CancelledError
