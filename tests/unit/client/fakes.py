"""A gRPC channel that opens no socket: the stubs made on it call back into the test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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

        return call

    unary_unary = unary_stream = stream_unary = stream_stream = _method

    def close(self) -> None:
        pass
