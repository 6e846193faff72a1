"""Process bookkeeping of `consortia network`: pid files, liveness, ports, log tails
(no process is started and no socket opened here)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from consortia.network.processes import (
    LOG_MARK,
    PidRecord,
    follow,
    is_running,
    kill_leftovers,
    pid_exists,
    read_pid,
    tail,
    taken_ports,
    write_pid,
)

pytestmark = pytest.mark.unit

NO_SUCH_PID = 2**22 + 12345  # above Linux's largest pid_max


def test_pid_files_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "node.pid"
    write_pid(path, PidRecord(1234, "/n/nodes/peer0/peer0.yaml"))
    assert read_pid(path) == PidRecord(1234, "/n/nodes/peer0/peer0.yaml")
    assert not (tmp_path / "node.pid.tmp").exists()


@pytest.mark.parametrize("text", ["", "1234", "{\"pid\": \"x\", \"config\": \"c\"}", "{\"config\": \"c\"}", "[1]"])
def test_an_unreadable_pid_file_means_no_process(tmp_path: Path, text: str) -> None:
    path = tmp_path / "node.pid"
    path.write_text(text)
    assert read_pid(path) is None
    assert read_pid(tmp_path / "missing.pid") is None


def test_a_pid_counts_only_while_it_runs_with_the_node_s_config() -> None:
    me = os.getpid()
    assert pid_exists(me)
    mine = sys.orig_argv[-1]  # as given (sys.argv[0] is rewritten under `python -m pytest`)
    assert is_running(PidRecord(me, mine))  # our own command line holds it
    # The pid is alive but runs something else: the system gave it to another program.
    assert not is_running(PidRecord(me, "/nowhere/peer0.org1.example.com.yaml"))
    assert not pid_exists(NO_SUCH_PID)
    assert not is_running(PidRecord(NO_SUCH_PID, mine))
    assert not is_running(PidRecord(0, mine))


def test_leftovers_are_only_looked_for_when_the_leader_is_dead() -> None:
    assert kill_leftovers(PidRecord(os.getpid(), "x")) == 0  # alive: never touched
    assert kill_leftovers(PidRecord(NO_SUCH_PID, "x")) == 0  # dead, and no session of that id


def test_taken_ports_name_the_node_the_port_and_its_use() -> None:
    wanted = [("orderer0.orderer.example.com", "listen", "127.0.0.1:7350"),
              ("peer0.org1.example.com", "admin", "127.0.0.1:7361"),
              ("peer0.org1.example.com", "chaincode", "[::1]:7362")]
    asked: list[tuple[str, int]] = []

    def is_free(host: str, port: int) -> bool:
        asked.append((host, port))
        return port != 7361

    assert taken_ports(wanted, is_free) == [
        "peer0.org1.example.com needs port 7361 (admin 127.0.0.1:7361), which another program is using"
    ]
    assert asked == [("127.0.0.1", 7350), ("127.0.0.1", 7361), ("[::1]", 7362)]
    assert taken_ports(wanted, lambda host, port: True) == []


def test_log_tails_can_stop_at_the_last_start(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("\n".join(["old 1", "old 2", f"{LOG_MARK} peer at now -----", "new 1", "new 2", "new 3"]) + "\n")
    assert tail(log, 2) == "new 2\nnew 3"
    assert tail(log, 0).startswith("old 1\n")
    assert tail(log, 10, last_start_only=True) == "new 1\nnew 2\nnew 3"
    assert tail(tmp_path / "none.log") == "(no log)"


def test_follow_passes_on_what_is_appended_until_told_to_stop(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_bytes(b"before the follow\n")
    seen: list[str] = []
    writes = iter([b"one\n", "二\n".encode()[:2], "二\n".encode()[2:], b"three\n"])  # a character split in two

    def keep_going() -> bool:
        chunk = next(writes, None)
        if chunk is None:
            return False
        with open(log, "ab") as out:
            out.write(chunk)
        return True

    follow(log, seen.append, keep_going, interval=0)
    assert "".join(seen) == "one\n二\nthree\n"


def test_follow_ends_when_the_log_is_removed(tmp_path: Path) -> None:
    log = tmp_path / "node.log"
    log.write_text("x\n")
    calls = []

    def keep_going() -> bool:
        calls.append(1)
        if len(calls) == 2:
            log.unlink()  # as `down --clean` does
        return len(calls) < 10

    follow(log, lambda text: None, keep_going, interval=0)
    assert len(calls) == 2
