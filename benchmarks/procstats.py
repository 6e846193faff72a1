"""What a benchmark's processes used, read from /proc: a figure (CPU seconds, peak
memory) of each node process, and of the processes each node started (its chaincode),
summed under a name of the caller's choosing."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

# A figure of one process, from its /proc status and stat files.
Figure = Callable[[str, str], float]


def cpu_seconds(_: str, stat: str) -> float:
    """User and system CPU seconds used so far."""
    fields = stat.rpartition(")")[2].split()  # after the command name, which may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def peak_mb(status: str, _: str) -> float:
    """VmHWM, the peak resident memory, in MB."""
    return float(status.split("VmHWM:")[1].split()[0]) / 1024


def parent_pid(status: str) -> int:
    """The parent's pid, from a /proc status file."""
    return int(status.split("PPid:")[1].split()[0])


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is `parent`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if parent_pid((proc / "status").read_text()) == parent:
                found.append(int(proc.name))
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
    return found


def node_figures(nodes: dict[int, str], figure: Figure, children: Callable[[str], str]) -> dict[str, float]:
    """`figure` of each process of `nodes` (pid -> name), and of their child processes,
    summed under `children(parent's name)`."""
    found: dict[str, float] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            status = (proc / "status").read_text()
            parent = parent_pid(status)
            pid = int(proc.name)
            if pid in nodes:
                name = nodes[pid]
            elif parent in nodes:
                name = children(nodes[parent])
            else:
                continue
            value = figure(status, (proc / "stat").read_text())
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
        found[name] = found.get(name, 0.0) + value
    return found
