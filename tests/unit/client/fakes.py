"""A gRPC channel that opens no socket: the stubs made on it call back into the test."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import grpc


class FakeChannel:
    """Stands in for `grpc.Channel`; every call raises unless a test sets an answer."""

    def __init__(self) -> None:
        self.answers: dict[str, Callable[..., Any]] = {}
        self.calls: list[tuple[str, Any]] = []

    def _method(self, path: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        name = path.rsplit("/", 1)[-1]

        def call(request: Any, timeout: float | None = None, **_: Any) -> Any:
            self.calls.append((name, request))
            if name not in self.answers:
                raise AssertionError(f"unexpected call {name}")
            return self.answers[name](request, timeout)

        def future(request: Any, timeout: float | None = None, **_: Any) -> Future[Any]:
            """As grpc's `.future()`: the call's answer, or its error, as a future."""
            done: Future[Any] = Future()
            try:
                done.set_result(call(request, timeout))
            except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
                done.set_exception(exc)
            return done

        call.future = future  # type: ignore[attr-defined]
        return call

    unary_unary = unary_stream = stream_unary = stream_stream = _method

    def close(self) -> None:
        pass


class FakeRpcError(grpc.RpcError):
    """What a failed blocking call raises: a code, a message and the trailing metadata."""

    def __init__(self, code: grpc.StatusCode, message: str, trailer: Sequence[tuple[str, bytes]] = ()) -> None:
        self._code, self._message, self._trailer = code, message, tuple(trailer)

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._message

    def trailing_metadata(self) -> tuple[tuple[str, bytes], ...]:
        return self._trailer


class FakeAioChannel(FakeChannel):
    """Stands in for `grpc.aio.Channel`: the same answers, given when awaited; a
    streaming method's answer is the call object itself (a `FakeStreamCall`)."""

    def _method(self, path: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        call = super()._method(path)

        async def awaited(request: Any, timeout: float | None = None, **_: Any) -> Any:
            return call(request, timeout)

        return awaited

    def _streaming(self, path: str, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        return super()._method(path)

    unary_unary = stream_unary = _method
    unary_stream = stream_stream = _streaming

    async def close(self) -> None:  # type: ignore[override]
        self.closed = True


class FakeStreamCall:
    """A grpc.aio server-streaming call: `read()` gives each item (raising the errors),
    then EOF, or, when `endless`, waits for what `push()` adds until cancelled."""

    def __init__(self, items: list[object], *, endless: bool = False) -> None:
        self.items = items
        self.endless = endless
        self.cancelled = asyncio.Event()
        self._arrived = asyncio.Event()

    def push(self, item: object) -> None:
        """Add an item (`grpc.aio.EOF` ends the call) for a reader to get."""
        self.items.append(item)
        self._arrived.set()

    async def read(self) -> object:
        while True:
            if self.items:
                item = self.items.pop(0)
                if isinstance(item, Exception):
                    raise item
                return item
            if not self.endless:
                return grpc.aio.EOF
            if self.cancelled.is_set():
                raise asyncio.CancelledError
            self._arrived.clear()
            arrived = asyncio.ensure_future(self._arrived.wait())
            cancelled = asyncio.ensure_future(self.cancelled.wait())
            await asyncio.wait([arrived, cancelled], return_when=asyncio.FIRST_COMPLETED)
            arrived.cancel()
            cancelled.cancel()

    def cancel(self) -> bool:
        self.cancelled.set()
        return True
