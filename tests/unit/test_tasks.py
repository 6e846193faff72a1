"""cancel_and_wait: the tasks are stopped and waited for, and the caller's own
cancellation is not swallowed on the way."""

from __future__ import annotations

import asyncio

import pytest

from consortia.tasks import cancel_and_wait


def test_the_tasks_are_cancelled_and_finished_when_it_returns() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        sleeper = asyncio.create_task(asyncio.sleep(60))
        failing_on_cancel = asyncio.create_task(_fail_when_cancelled())
        done = asyncio.create_task(asyncio.sleep(0))
        await asyncio.sleep(0.01)
        await cancel_and_wait(sleeper, None, failing_on_cancel, done)
        return sleeper.cancelled(), failing_on_cancel.done(), done.done() and not done.cancelled()

    assert asyncio.run(scenario()) == (True, True, True)


async def _fail_when_cancelled() -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        raise RuntimeError("failed while stopping") from None


def test_a_task_that_fails_as_it_stops_is_not_reported_as_unretrieved() -> None:
    reported: list[dict[str, object]] = []

    async def scenario() -> None:
        asyncio.get_running_loop().set_exception_handler(lambda loop, context: reported.append(context))
        task = asyncio.create_task(_fail_when_cancelled())
        await asyncio.sleep(0.01)
        await cancel_and_wait(task)
        del task

    asyncio.run(scenario())
    assert reported == []


def test_nothing_to_stop_returns_at_once() -> None:
    asyncio.run(cancel_and_wait())
    asyncio.run(cancel_and_wait(None))


def test_a_caller_cancelled_meanwhile_waits_for_the_tasks_then_is_cancelled() -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        release = asyncio.Event()

        async def slow_to_stop() -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                await release.wait()  # cleaning up takes a while
                raise

        task = asyncio.create_task(slow_to_stop())
        await asyncio.sleep(0.01)
        caller = asyncio.create_task(cancel_and_wait(task))
        await asyncio.sleep(0.01)
        caller.cancel()
        await asyncio.sleep(0.01)
        still_waiting = not caller.done()  # cancelled, but its task has not finished yet
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await caller
        return still_waiting, task.cancelled(), caller.cancelled()

    assert asyncio.run(scenario()) == (True, True, True)


def test_a_timeout_around_it_still_times_out() -> None:
    async def scenario() -> None:
        async def stubborn() -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                await asyncio.sleep(0.2)
                raise

        task = asyncio.create_task(stubborn())
        await asyncio.sleep(0.01)
        async with asyncio.timeout(0.05):
            await cancel_and_wait(task)

    with pytest.raises(TimeoutError):
        asyncio.run(scenario())
