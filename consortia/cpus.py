"""Which CPUs a node's process runs on (Linux), and how `network up` spreads a network's
processes over the machine's CPUs.

A Python node runs its Python on one thread at a time, and its threads hand work to
each other many times a transaction: gRPC's poller thread wakes the event loop for every
message, and the loop and the peer's validation thread pass the GIL back and forth. When
those threads sit on different CPUs, each hand-over is a wake-up across CPUs, which on a
virtual machine is the hypervisor's work and costs far more than one on the same CPU.
Keeping every thread of a process on one CPU makes them all local. On the two-core
benchmark (benchmarks/e2e.py, Fabric's test-network batching, two interleaved pairs)
that took the network's CPU per transaction down by an eighth, and throughput up by a
sixth.

A peer's chaincode processes take another CPU than their peer's when there is one: a
peer and its chaincode answer each other several times a transaction, and on one CPU
each answer waits for the other process to be scheduled.

A node pins itself as it starts (consortia.nodeserver), every thread it already has
included; a peer starts its chaincode processes on their CPUs (peer.chaincode.launcher).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def supported() -> bool:
    """Whether this platform lets a process choose its CPUs (Linux does; macOS does not)."""
    return hasattr(os, "sched_setaffinity")


def available() -> list[int]:
    """The CPUs this process may run on, in order; empty where that cannot be told."""
    return sorted(os.sched_getaffinity(0)) if supported() else []


def pin_process(cpus: Collection[int]) -> None:
    """Confine every thread of this process to `cpus` (threads started later inherit it).
    OSError if the kernel refuses, as for a CPU that is offline."""
    mask = set(cpus)
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        os.sched_setaffinity(0, mask)
        return
    for task in tasks.iterdir():
        try:
            os.sched_setaffinity(int(task.name), mask)
        except ProcessLookupError:  # the thread ended meanwhile
            continue


def start_on(cpus: Collection[int], start: Callable[[], T]) -> T:
    """Call `start`, which starts a process, from a thread confined to `cpus`.

    A child inherits the CPUs of the thread that forks it, before it runs a line of its
    own; setting them on the child afterwards could miss threads it had started by
    then. The calling thread keeps its own CPUs.
    """
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            os.sched_setaffinity(0, set(cpus))  # 0: this thread only
            outcome.append(start())
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="start-on-cpus")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def spread(nodes: Sequence[tuple[str, bool]], cpus: Sequence[int]) -> dict[str, tuple[int, int | None]]:
    """CPUs for a network's nodes, given as (name, whether it runs chaincode): the nodes
    take the CPUs in turn, in the order given, and a peer's chaincode the CPU after its
    peer's. By name: (the node's CPU, its chaincode's CPU or None)."""
    if not cpus:
        return {}
    placed: dict[str, tuple[int, int | None]] = {}
    for turn, (name, runs_chaincode) in enumerate(nodes):
        chaincode = cpus[(turn + 1) % len(cpus)] if runs_chaincode else None
        placed[name] = (cpus[turn % len(cpus)], chaincode)
    return placed


def describe(cpus: Collection[int]) -> str:
    return ", ".join(str(cpu) for cpu in sorted(cpus))
