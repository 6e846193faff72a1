"""consortia.cpus: spreading a network's processes over CPUs, and confining a process,
or a child it starts, to some of them."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from consortia import cpus

pytestmark = pytest.mark.unit

linux_only = pytest.mark.skipif(not cpus.supported(), reason="choosing CPUs needs Linux")


def test_nodes_take_the_cpus_in_turn_and_a_peer_s_chaincode_the_next() -> None:
    nodes = [("orderer0", False), ("peer0.org1", True), ("peer0.org2", True)]
    assert cpus.spread(nodes, [0, 1]) == {"orderer0": (0, None), "peer0.org1": (1, 0), "peer0.org2": (0, 1)}
    # More CPUs than nodes: each node its own, and the chaincode the one after.
    assert cpus.spread(nodes, [2, 3, 5, 7]) == {"orderer0": (2, None), "peer0.org1": (3, 5), "peer0.org2": (5, 7)}
    # One CPU: everything on it.
    assert cpus.spread(nodes, [4]) == {"orderer0": (4, None), "peer0.org1": (4, 4), "peer0.org2": (4, 4)}
    # Nothing known of the CPUs: no placement at all.
    assert cpus.spread(nodes, []) == {}


CHILD_CPUS = "import os, threading; print(sorted(os.sched_getaffinity(0)))"


@linux_only
def test_a_child_started_on_cpus_runs_there_and_the_caller_keeps_its_own() -> None:
    mine = os.sched_getaffinity(0)
    one = min(mine)
    child = cpus.start_on([one], lambda: subprocess.run([sys.executable, "-c", CHILD_CPUS], capture_output=True,
                                                        text=True, check=True))
    assert child.stdout.strip() == str([one])
    assert os.sched_getaffinity(0) == mine


@linux_only
def test_a_failed_start_raises_in_the_caller() -> None:
    def refuse() -> None:
        raise FileNotFoundError("no such program")

    with pytest.raises(FileNotFoundError, match="no such program"):
        cpus.start_on([min(os.sched_getaffinity(0))], refuse)


PIN_ALL = """
import os, sys, threading, time
from consortia import cpus
started = threading.Event()
threading.Thread(target=lambda: (started.set(), time.sleep(2)), daemon=True).start()
started.wait()
cpus.pin_process([int(sys.argv[1])])
masks = {tuple(sorted(os.sched_getaffinity(int(t)))) for t in os.listdir("/proc/self/task")}
print(sorted(masks))
"""


@linux_only
def test_pinning_a_process_moves_the_threads_it_already_has() -> None:
    """gRPC starts threads of its own early; every one of them must move."""
    one = min(os.sched_getaffinity(0))
    out = subprocess.run([sys.executable, "-c", PIN_ALL, str(one)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str([(one,)])


@linux_only
def test_the_kernel_refusing_a_cpu_is_an_error() -> None:
    with pytest.raises(OSError):
        cpus.start_on([max(os.sched_getaffinity(0)) + 4096], lambda: None)
