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

gRPC's poller thread: grpc.aio reads the network on a thread of its own, which wakes the
event loop when a call or message completes. When every core is busy, each of its
wake-ups on network input preempted whatever ran on its core, often its own process's
event loop, for a few microseconds of work. `run` puts that thread in SCHED_BATCH, which
Linux gives the same share of CPU but lets wait for the running thread's time slice
instead of preempting it, so that it takes what has come in at once; an idle core still
runs it at once. On the two-core benchmark the gateway peer switches context 28 times a
transaction instead of 51, and a transaction through the whole network costs about a
twentieth less CPU (benchmarks/e2e.py, four interleaved pairs).
CONSORTIA_GRPC_POLLER=normal leaves the thread as it is.

Nothing imported at module level but the standard library, on purpose: the nodes' entry
points, chaincode included, import this first, before grpc may load; `run` imports grpc
itself, and uvloop is optional.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

DIRECT_IO = "-event_engine_listener,-event_engine_client"


def prefer_direct_io() -> None:
    """Use iomgr's transport in this process (and the processes it starts), unless the
    user chose gRPC's experiments themselves."""
    os.environ.setdefault("GRPC_EXPERIMENTS", DIRECT_IO)


EVENT_LOOP_ENV = "CONSORTIA_EVENT_LOOP"
POLLER_ENV = "CONSORTIA_GRPC_POLLER"
T = TypeVar("T")
log = logging.getLogger(__name__)


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run a node's main coroutine to the end, on uvloop unless it is not installed or
    CONSORTIA_EVENT_LOOP=asyncio asks for the standard loop, with gRPC's poller thread
    in SCHED_BATCH unless CONSORTIA_GRPC_POLLER=normal."""
    if os.environ.get(POLLER_ENV, "").strip().lower() != "normal":
        main = _with_batch_poller(main)
    if os.environ.get(EVENT_LOOP_ENV, "").strip().lower() != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)


async def _with_batch_poller(main: Coroutine[Any, Any, T]) -> T:
    """Start grpc.aio for this loop (which starts its poller thread), put the poller in
    SCHED_BATCH, then run `main`. grpcio stops its poller when no one holds grpc.aio
    any more; the reference taken here lasts the whole run, so the thread set here stays
    the poller even while no channel or server is open (a chaincode between reconnects)."""
    import grpc.aio

    grpc.aio.init_grpc_aio()
    try:
        _batch_poller_thread()
        return await main
    finally:
        grpc.aio.shutdown_grpc_aio()


def _batch_poller_thread() -> None:
    """Put grpc.aio's poller thread of this process in SCHED_BATCH. Where the platform
    has no SCHED_BATCH, or grpcio starts its poller otherwise, the thread is left as it
    is (the start-up log line says so): the policy changes only how much CPU the network
    takes."""
    tid = _poller_tid()
    if tid is None or not hasattr(os, "SCHED_BATCH"):
        return
    try:
        os.sched_setscheduler(tid, os.SCHED_BATCH, os.sched_param(0))
    except OSError as exc:
        log.warning("gRPC's poller thread keeps its scheduling policy: %s", exc)


def poller_policy() -> str:
    """The scheduling policy of grpc.aio's poller thread ("SCHED_BATCH", "SCHED_OTHER",
    ...), for a node's start-up log line."""
    tid = _poller_tid()
    if tid is None or not hasattr(os, "sched_getscheduler"):
        return "unknown"
    try:
        policy = os.sched_getscheduler(tid)
    except OSError:
        return "unknown"
    names = {getattr(os, name): name for name in ("SCHED_OTHER", "SCHED_BATCH", "SCHED_IDLE", "SCHED_FIFO", "SCHED_RR")
             if hasattr(os, name)}
    return names.get(policy, str(policy))


def _poller_tid() -> int | None:
    """The kernel's id of grpc.aio's poller: the thread that runs a
    `PollerCompletionQueue`'s loop (grpcio names no thread, so it is known by its target)."""
    for thread in threading.enumerate():
        target = getattr(thread, "_target", None)
        if type(getattr(target, "__self__", None)).__name__ == "PollerCompletionQueue":
            return thread.native_id
    return None


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    """"uvloop" or "asyncio": which event loop a node runs on, for its start-up log line."""
    return type(loop).__module__.partition(".")[0]
