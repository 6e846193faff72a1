"""consortia.grpcenv: the nodes' gRPC transport setting, in place before grpc loads, and
their event loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import pytest

from consortia.grpcenv import DIRECT_IO, EVENT_LOOP_ENV, POLLER_ENV, loop_name, run
from tests.conftest import REPO

pytestmark = pytest.mark.unit


def experiments_seen_by_grpc_loader(module: str, environment: dict[str, str]) -> str:
    """GRPC_EXPERIMENTS as it stands when `grpc` is first imported while `python -m module`
    starts (a meta path hook stops the process right there)."""
    probe = (
        "import os, runpy, sys\n"
        "class Stop:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'grpc':\n"
        "            print(os.environ.get('GRPC_EXPERIMENTS', '<unset>'), flush=True)\n"
        "            os._exit(0)\n"
        "sys.meta_path.insert(0, Stop())\n"
        f"sys.argv = [{module!r}, '--help']\n"
        f"runpy.run_module({module!r}, run_name='__main__', alter_sys=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=environment, capture_output=True, text=True,
                          timeout=60)
    return done.stdout.strip()


@pytest.mark.parametrize("module", ["peer", "orderer", "chaincode"])
def test_each_node_sets_it_before_grpc_loads(module: str) -> None:
    environment = {k: v for k, v in os.environ.items() if k != "GRPC_EXPERIMENTS"}
    assert experiments_seen_by_grpc_loader(module, environment) == DIRECT_IO


def test_a_setting_of_the_user_is_kept() -> None:
    environment = {**os.environ, "GRPC_EXPERIMENTS": "event_engine_client"}
    assert experiments_seen_by_grpc_loader("orderer", environment) == "event_engine_client"


def test_run_uses_uvloop_unless_asked_for_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    async def which_loop() -> str:
        return loop_name(asyncio.get_running_loop())

    monkeypatch.delenv(EVENT_LOOP_ENV, raising=False)
    assert run(which_loop()) == "uvloop"
    monkeypatch.setenv(EVENT_LOOP_ENV, "asyncio")
    assert run(which_loop()) == "asyncio"


def test_run_returns_the_result_and_raises_the_error_of_the_coroutine() -> None:
    async def answer() -> int:
        return 42

    async def fail() -> None:
        raise ValueError("boom")

    assert run(answer()) == 42
    with pytest.raises(ValueError, match="boom"):
        run(fail())


def poller_policy_seen_by(environment: dict[str, str]) -> str:
    """What `consortia.grpcenv.run` leaves gRPC's poller thread in, as the coroutine it
    runs sees it with a channel open after its first channel was closed and dropped (in
    a process of its own: the poller thread is the process's; grpcio stops it when no
    grpc.aio object is left and starts another one with the next)."""
    probe = (
        "import gc, grpc\n"
        "from consortia import grpcenv\n"
        "async def main():\n"
        "    first = grpc.aio.insecure_channel('127.0.0.1:1')\n"
        "    await first.close()\n"
        "    del first\n"
        "    gc.collect()\n"
        "    channel = grpc.aio.insecure_channel('127.0.0.1:1')\n"
        "    try:\n"
        "        return grpcenv.poller_policy()\n"
        "    finally:\n"
        "        await channel.close()\n"
        "print(grpcenv.run(main()))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=environment, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="the platform has no SCHED_BATCH (Linux has)")
def test_run_puts_the_poller_thread_in_sched_batch_unless_asked_not_to() -> None:
    environment = {k: v for k, v in os.environ.items() if k != POLLER_ENV}
    assert poller_policy_seen_by(environment) == "SCHED_BATCH"
    assert poller_policy_seen_by({**environment, POLLER_ENV: "normal"}) == "SCHED_OTHER"
