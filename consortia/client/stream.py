"""An endless stream of events from one server-streaming gRPC call.

Events keep coming as blocks commit, so the stream only ends when it is closed (from
any thread: `close()` cancels the call, and a blocked `next()` then ends quietly), when
the gateway closes (it ends quietly too), or when it fails (a GatewayError, or what the
converter raises, such as a DeliverError).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Generic, TypeVar

import grpc

from consortia.client.errors import status_of

T = TypeVar("T")


class EventStream(Generic[T]):
    """Iterate for events; `close()` (or leaving a `with` block) ends the stream."""

    def __init__(self, call: Any, convert: Callable[[Any], Iterable[T]],
                 on_error: Callable[[grpc.RpcError], Exception]) -> None:
        self._call = call
        self._convert = convert
        self._on_error = on_error
        self._pending: deque[T] = deque()
        self._closed = False

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
                # Closed while waiting, here or by closing the gateway: the end, not a failure.
                cancelled = self._closed or status_of(exc)[0] == grpc.StatusCode.CANCELLED
                self._closed = True
                if cancelled:
                    raise StopIteration from None
                raise self._on_error(exc) from exc
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

    def __enter__(self) -> EventStream[T]:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
