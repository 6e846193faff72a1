"""Pinning a benchmark network's processes to CPUs (Linux), to measure what the
kernel's own placement costs when every process shares a few cores.

Each process gets one CPU, all its threads with it: a Python node runs its Python on
one thread at a time anyway, and its threads then hand the GIL over on one CPU. The
nodes take the CPUs in turn, in the order of their names, and the chaincode processes
of a peer take the CPU after their peer's: a peer and its chaincode send each other
several messages a transaction, and on one CPU each of those waits for the other to be
scheduled.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.procstats import child_pids


def pin(pid: int, cpu: int) -> None:
    """Every thread of `pid` onto `cpu` (threads it starts later inherit it)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            os.sched_setaffinity(int(task.name), {cpu})
        except ProcessLookupError:  # the thread ended meanwhile
            continue


def spread(nodes: dict[str, int]) -> dict[str, int]:
    """Pin each node (name -> pid) and its chaincode processes as the module says;
    the CPU each got, by name (a node's chaincode as "NAME chaincode")."""
    cpus = sorted(os.sched_getaffinity(0))
    placed = {}
    for turn, name in enumerate(sorted(nodes)):
        placed[name] = cpus[turn % len(cpus)]
        pin(nodes[name], placed[name])
        chaincode_cpu = cpus[(turn + 1) % len(cpus)]
        for child in child_pids(nodes[name]):
            pin(child, chaincode_cpu)
            placed[f"{name} chaincode"] = chaincode_cpu
    return placed
