"""The single-writer outbox of a chaincode stream: order, never blocking the poster, and
what a broken stream does."""

from __future__ import annotations

import asyncio

import pytest

from consortia.outbox import Outbox

pytestmark = pytest.mark.unit


class SlowStream:
    """A stream whose writes take a turn of the loop each, and that allows one at a time."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.written: list[str] = []
        self.writing = False
        self.fail_at = fail_at

    async def write(self, message: str) -> None:
        assert not self.writing, "two writes at once"
        self.writing = True
        try:
            await asyncio.sleep(0)
            if self.fail_at is not None and len(self.written) == self.fail_at:
                raise ConnectionError("stream reset")
            self.written.append(message)
        finally:
            self.writing = False


def test_posted_messages_are_written_in_order_one_at_a_time() -> None:
    async def scenario() -> list[str]:
        stream = SlowStream()
        outbox: Outbox[str] = Outbox(stream.write, lambda exc: pytest.fail(f"unexpected failure: {exc}"))
        writer = asyncio.create_task(outbox.run())
        for i in range(5):
            outbox.post(f"m{i}")  # returns at once, whatever the stream is doing
        await asyncio.sleep(0.01)
        outbox.post("late")  # the writer was idle: posting wakes it
        await asyncio.sleep(0.01)
        writer.cancel()
        return stream.written

    assert asyncio.run(scenario()) == ["m0", "m1", "m2", "m3", "m4", "late"]


def test_a_failed_write_drops_the_rest_reports_once_and_ends() -> None:
    async def scenario() -> tuple[list[str], list[str], bool]:
        stream = SlowStream(fail_at=2)
        failures: list[str] = []
        outbox: Outbox[str] = Outbox(stream.write, lambda exc: failures.append(str(exc)))
        writer = asyncio.create_task(outbox.run())
        for i in range(5):
            outbox.post(f"m{i}")
        await asyncio.wait_for(writer, 1)
        outbox.post("after")  # nobody writes it any more
        await asyncio.sleep(0.01)
        return stream.written, failures, writer.done()

    written, failures, ended = asyncio.run(scenario())
    assert written == ["m0", "m1"]
    assert failures == ["stream reset"]
    assert ended
