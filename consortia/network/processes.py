"""Node processes started detached, found again by their pid files, and stopped.

A node runs as `python -m orderer|peer --config FILE` in a session of its own (so a
Ctrl-C in the terminal that ran `consortia network up` does not reach it, and the
chaincode processes a peer launches share its process group), with stdout and stderr
appended to its log file. Its pid file names the pid and the configuration file: a pid
counts as the node only while /proc shows that process running with that file, so a
pid the system has since given to another program is never mistaken for the node.

Readiness is the standard gRPC health service reporting SERVING on the node's listen
address. A node that exits, or is not ready by the deadline, fails the start with the
last lines of its log.
"""

from __future__ import annotations

import asyncio
import codecs
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consortia.config.node import split_address
from consortia.errors import ConsortiaError
from consortia.grpcutil import channel

LOG_MARK = "----- consortia network: starting"
STOP_GRACE = 15.0
TAIL_LINES = 30


class NodeStartError(ConsortiaError):
    """A node could not be started or did not become ready."""


class PortInUseError(ConsortiaError):
    """A port a node must listen on is taken by another program."""


@dataclass(frozen=True)
class PidRecord:
    pid: int
    # The configuration file the process was started with (absolute): what identifies it.
    config: str


# --- pid files --------------------------------------------------------------------------


def write_pid(path: Path, record: PidRecord) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"pid": record.pid, "config": record.config}) + "\n")
    tmp.replace(path)


def read_pid(path: Path) -> PidRecord | None:
    """The record in a pid file; None when there is none or it is unreadable."""
    try:
        doc = json.loads(path.read_text())
        return PidRecord(pid=int(doc["pid"]), config=str(doc["config"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (state first); None if absent."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text.rsplit(")", 1)[1].split()


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.decode(errors="replace").split("\0")


def pid_exists(pid: int) -> bool:
    """The pid belongs to a live process (a zombie is dead)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    stat = _proc_stat(pid)
    return stat is None or stat[0] != "Z"


def is_running(record: PidRecord) -> bool:
    """The process of the record is alive and is still the one started with its config."""
    if record.pid <= 0 or not pid_exists(record.pid):
        return False
    command = _cmdline(record.pid)
    return command is None or record.config in command


def session_members(leader: int) -> list[int]:
    """Live processes of the session `leader` started (Linux; [] elsewhere), leader excluded."""
    members = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit() or int(entry) == leader:
            continue
        stat = _proc_stat(int(entry))
        # After the state: ppid, pgrp, session.
        if stat is not None and len(stat) > 3 and stat[0] != "Z" and stat[3] == str(leader):
            members.append(int(entry))
    return members


# --- ports ------------------------------------------------------------------------------


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on host:port now (as gRPC does, with SO_REUSEADDR)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError:
            return False
    return True


def taken_ports(wanted: Iterable[tuple[str, str, str]], is_free: Callable[[str, int], bool]) -> list[str]:
    """For each (node, what, address) whose port is not free: "node needs port P (what), ..."."""
    problems = []
    for node, what, address in wanted:
        host, port = split_address(address)
        if not is_free(host, port):
            problems.append(f"{node} needs port {port} ({what} {address}), which another program is using")
    return problems


# --- logs -------------------------------------------------------------------------------


def tail(log: Path, lines: int = TAIL_LINES, *, last_start_only: bool = False) -> str:
    """The last lines of a log (only those since its last start, if asked)."""
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    if last_start_only:
        starts = [i for i, line in enumerate(text) if line.startswith(LOG_MARK)]
        if starts:
            text = text[starts[-1] + 1:]
    return "\n".join(text[-lines:]) if lines > 0 else "\n".join(text)


def follow(log: Path, write: Callable[[str], None], keep_going: Callable[[], bool], interval: float = 0.25) -> None:
    """Pass on what is appended to `log` from its current end, as it comes, while
    `keep_going()` and the file exists (`down --clean` removes it)."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")  # a character may span two reads
    with open(log, "rb") as source:
        source.seek(0, os.SEEK_END)
        while keep_going():
            chunk = source.read()
            if chunk:
                write(decoder.decode(chunk))
                continue
            if not log.exists():
                return
            time.sleep(interval)


# --- start, health, stop ----------------------------------------------------------------


def start(module: str, config: Path, log: Path, pid_file: Path) -> tuple[subprocess.Popen[bytes], PidRecord]:
    """Start `python -m module --config config` detached; its pid file is written."""
    config = config.resolve()
    with open(log, "ab") as out:
        stamp = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        out.write(f"{LOG_MARK} {module} at {stamp} -----\n".encode())
        out.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--config", str(config)],
            cwd=config.parent,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    record = PidRecord(proc.pid, str(config))
    write_pid(pid_file, record)
    return proc, record


async def health(address: str, tls_ca: bytes | None, timeout: float = 2.0) -> str:
    """The node's health status name: SERVING, NOT_SERVING, ... or UNREACHABLE."""
    try:
        async with channel(address, root_ca=tls_ca) as ch:
            reply = await health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
    except grpc.aio.AioRpcError:
        return "UNREACHABLE"
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def _accepts(address: str) -> bool:
    host, port = split_address(address)
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), port), 1.0)
    except (OSError, asyncio.TimeoutError):
        return False
    writer.close()
    try:
        await writer.wait_closed()
    except OSError:
        pass
    return True


async def wait_healthy(name: str, address: str, tls_ca: bytes | None, alive: Callable[[], bool], log: Path,
                       timeout: float) -> None:
    """Wait until the node reports SERVING; NodeStartError (with its log) if it exits
    or is not ready within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        if not alive():
            raise NodeStartError(f"{name} exited while starting; the end of its log ({log}):\n"
                                 f"{tail(log, last_start_only=True)}")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise NodeStartError(f"{name} did not become ready at {address} within {timeout:.0f}s ({last}); "
                                 f"the end of its log ({log}):\n{tail(log, last_start_only=True)}")
        # A TCP connect is cheap: only when the port accepts is the health service asked.
        if await _accepts(address):
            last = await health(address, tls_ca, timeout=min(2.0, max(remaining, 0.1)))
            if last == "SERVING":
                return
        else:
            last = "not listening yet"
        await asyncio.sleep(0.05)


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


async def stop(record: PidRecord, grace: float = STOP_GRACE) -> str:
    """Stop the node: SIGTERM, then SIGKILL (to its whole process group) after `grace`
    seconds. Returns "stopped", "killed" or "not running"."""
    if not is_running(record):
        return "not running"
    _signal(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not pid_exists(record.pid):
            return "stopped"
        await asyncio.sleep(0.05)
    _signal_group(record.pid, signal.SIGKILL)
    _signal(record.pid, signal.SIGKILL)
    for _ in range(100):
        if not pid_exists(record.pid):
            break
        await asyncio.sleep(0.05)
    return "killed"


def kill_leftovers(record: PidRecord) -> int:
    """Kill what remains of a dead node's session (chaincode processes a peer launched
    before it died); the number killed. Nothing is done while the leader's pid lives:
    it may be the node, or a program that has since been given the same pid."""
    if pid_exists(record.pid):
        return 0
    members = session_members(record.pid)
    for pid in members:
        _signal(pid, signal.SIGKILL)
    return len(members)
