"""How our node processes run gRPC: the transport its core uses, set before `grpc` is
imported (the core reads its settings once, when it loads), and the event loop.

grpcio's default transport (its EventEngine listener and client) hands each read and
write between threads of its own; the older iomgr transport, which grpcio still ships,
does them on the thread that polls. When every process of a network shares two cores,
those hops cost more than they give: with the two experiments off, a gRPC call or
stream message costs about a sixth less CPU, and a transaction through the whole
network about a tenth (benchmarks/e2e.py, same machine, runs interleaved).

A GRPC_EXPERIMENTS the user set is left as it is. A grpcio that no longer knows these
experiments logs one "Unknown experiment" line and runs as it would anyway.

The event loop: uvloop where it is installed (a dependency on every platform but
Windows). grpc.aio wakes the loop once for every completed operation, several times
per call and once per stream message, so the loop's own cost per wake-up counts: on
uvloop a gRPC call or stream message costs about a sixth less CPU, and a transaction
through the whole network about a tenth (benchmarks/e2e.py, same machine, runs
interleaved). CONSORTIA_EVENT_LOOP=asyncio keeps the standard loop, to compare or to
debug with asyncio's own tools.

Dependency-free on purpose (uvloop is optional): the nodes' entry points call it first,
chaincode included.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

DIRECT_IO = "-event_engine_listener,-event_engine_client"


def prefer_direct_io() -> None:
    """Use iomgr's transport in this process (and the processes it starts), unless the
    user chose gRPC's experiments themselves."""
    os.environ.setdefault("GRPC_EXPERIMENTS", DIRECT_IO)


EVENT_LOOP_ENV = "CONSORTIA_EVENT_LOOP"
T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a node's main coroutine to the end, on uvloop unless it is not installed or
    CONSORTIA_EVENT_LOOP=asyncio asks for the standard loop."""
    if os.environ.get(EVENT_LOOP_ENV, "").strip().lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """"uvloop" or "asyncio": which event loop a node runs on, for its start-up log line."""
    return type(loop).__module__.partition(".")[0]
