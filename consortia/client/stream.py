"""An endless stream of events from one server-streaming gRPC call, blocking
(`EventStream`) or asyncio (`AsyncEventStream`).

Events keep coming as blocks commit, so the stream only ends when it is closed (from
any thread, or task: `close()` cancels the call, and a waiting `next()` then ends
quietly), when the gateway closes (it ends quietly too), or when it fails (a
GatewayError, or what the converter raises, such as a DeliverError).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc

from consortia.client.errors import status_of

T = TypeVar("T")


class _Events(Generic[T]):
    """What both kinds of stream keep: the events of the last response not yet taken,
    and whether the stream ended."""

    def __init__(self, call: Any, convert: Callable[[Any], Iterable[T]],
                 on_error: Callable[[grpc.RpcError], Exception]) -> None:
        self._call = call
        self._convert = convert
        self._on_error = on_error
        self._pending: deque[T] = deque()
        self._closed = False

    def _failure(self, error: grpc.RpcError) -> Exception | None:
        """The error to raise for a failed call, or None when the stream was closed
        (here, or by closing the gateway): the end, not a failure."""
        cancelled = self._closed or status_of(error)[0] == grpc.StatusCode.CANCELLED
        self._closed = True
        return None if cancelled else self._on_error(error)

    def _queue(self, response: Any) -> None:
        try:
            self._pending.extend(self._convert(response))
        except BaseException:
            self.close()
            raise

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """End the stream and release its call; safe to call twice or from another thread."""
        self._closed = True
        self._pending.clear()
        self._call.cancel()


class EventStream(_Events[T]):
    """Iterate for events; `close()` (or leaving a `with` block) ends the stream."""

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        while True:
            if self._closed:
                raise StopIteration
            if self._pending:
                return self._pending.popleft()
            try:
                response = next(self._call)
            except StopIteration:
                self._closed = True
                raise
            except grpc.RpcError as exc:
                failure = self._failure(exc)
                if failure is None:
                    raise StopIteration from None
                raise failure from exc
            self._queue(response)

    def __enter__(self) -> EventStream[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class AsyncEventStream(_Events[T]):
    """`async for` the events of a grpc.aio call; `close()` (or leaving an `async with`
    block) ends the stream."""

    def __aiter__(self) -> AsyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._pending:
                return self._pending.popleft()
            try:
                response = await self._call.read()
            except asyncio.CancelledError:
                if not self._closed:
                    raise  # our task was cancelled, not the stream closed
                raise StopAsyncIteration from None
            except grpc.RpcError as exc:
                failure = self._failure(exc)
                if failure is None:
                    raise StopAsyncIteration from None
                raise failure from exc
            if response is grpc.aio.EOF:
                self._closed = True
                raise StopAsyncIteration
            self._queue(response)

    async def __aenter__(self) -> AsyncEventStream[T]:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.close()
