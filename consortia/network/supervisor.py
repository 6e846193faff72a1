"""A whole network on one machine: `up`, `down` and `status`.

`up` reads as the steps it takes: check the network file; make what is missing (crypto
material, genesis blocks — both kept once made, so a restart finds its ledgers as
they were); write the node configurations; start every node that is not running, all
at once, as detached processes; wait for all of them to be healthy; join each channel's
orderers, then its member peers (what is joined already is skipped); deploy the
chaincodes the file lists. Anything that fails once nodes run stops the nodes this run
started, so a network is either up or not, and `up` again resumes from what was made.

`down` stops every node (SIGTERM, then SIGKILL after a grace period) and with `clean`
removes the directory. `status` asks each running node for its health and, as its
org's Admin, for its channels and their heights.
"""

from __future__ import annotations

import asyncio
import fcntl
import shutil
import subprocess
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from fabric_protos.common import common_pb2
from google.protobuf.message import DecodeError

from consortia import adminclient, cryptogen
from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.drift import config_drift
from consortia.channelconfig.genesis import config_from_block, genesis_block
from consortia.config.network import Network, load_network
from consortia.endpoint import NodeEndpoint
from consortia.errors import ConfigError, ConsortiaError
from consortia.msp.layout import load_signing_identity
from consortia.network import processes
from consortia.network.deploy import deploy_chaincodes
from consortia.network.layout import (
    NetworkDir,
    NetworkDirError,
    NodeRecord,
    NodeSpec,
    State,
    cpu_placement,
    host_port,
    node_config,
    node_records,
    node_specs,
    read_state,
    require_state,
    write_state,
)
from consortia.network.profile import connection_profile, write_profile

Report = Callable[[str], None]

START_TIMEOUT = 60.0
ADMIN_TIMEOUT = 10.0
STATUS_TIMEOUT = 3.0
LOCK_FILE = ".lock"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


@contextmanager
def _locked(dirs: NetworkDir) -> Iterator[None]:
    """One `up` or `down` at a time per directory."""
    dirs.root.mkdir(parents=True, exist_ok=True)
    with open(dirs.root / LOCK_FILE, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NetworkDirError(f"another `consortia network` command is working on {dirs.root}; "
                                  "wait for it to finish") from None
        yield


def _read_bytes(path: Path | None) -> bytes | None:
    return path.read_bytes() if path is not None else None


def _running(dirs: NetworkDir, name: str) -> processes.PidRecord | None:
    record = processes.read_pid(dirs.node(name).pid)
    return record if record is not None and processes.is_running(record) else None


# --- up ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpResult:
    network: Network
    state: State
    already_running: bool
    started: list[str] = field(default_factory=list)


async def up(network_file: Path, dirs: NetworkDir, report: Report, *, start_timeout: float = START_TIMEOUT) -> UpResult:
    """Bring the network of `network_file` up in `dirs` (see the module docstring)."""
    network = load_network(network_file)  # a bad file fails here, before anything exists
    network_file = network_file.resolve()
    report(f"checked {network_file.name}: network {network.name}, {_shape(network)}")
    specs = node_specs(network)
    old = read_state(dirs)
    _check_same_network(old, network_file, network, dirs)
    running = {spec.name for spec in specs if _running(dirs, spec.name) is not None}
    state = State(network_file, network.name, network.tls, node_records(network, dirs))
    if old is not None and old.ready and len(running) == len(specs):
        return UpResult(network, old, already_running=True)
    to_start = [spec for spec in specs if spec.name not in running]
    taken = processes.taken_ports(
        ((spec.name, what, host_port(spec.host, port)) for spec in to_start for what, port in spec.bound_ports()),
        processes.port_is_free,
    )
    if taken:
        raise processes.PortInUseError("cannot start the network: " + "; ".join(taken))
    with _locked(dirs):
        write_state(dirs, state)
        _make_material(network, dirs, report)
        placement = cpu_placement(network, specs)
        for spec in specs:
            _write_node_config(network, dirs, spec, placement.get(spec.name))
        write_profile(dirs.profile, connection_profile(network, dirs.crypto))
        report(f"wrote {plural(len(specs), 'node configuration')} and the connection profile {dirs.profile}")
        started: dict[str, subprocess.Popen[bytes]] = {}
        try:
            for spec in to_start:
                node = dirs.node(spec.name)
                started[spec.name], _ = processes.start(spec.kind, node.config, node.log, node.pid)
            was = f" ({len(running)} already running)" if running else ""
            report(f"started {plural(len(started), 'node')}{was}")
            await _wait_all_healthy(network, dirs, specs, started, start_timeout)
            report(f"{plural(len(specs), 'node')} healthy")
            await _join_channels(network, dirs, specs, report)
            if any(channel.chaincodes for channel in network.channels):
                dirs.packages.mkdir(exist_ok=True)
                await deploy_chaincodes(network, dirs.crypto, dirs.packages, report)
        except BaseException:
            await _stop_started(dirs, started, report)
            raise
        state = State(state.network_file, state.name, state.tls, state.nodes, ready=True)
        write_state(dirs, state)
    return UpResult(network, state, already_running=False, started=list(started))


def _shape(network: Network) -> str:
    peers = sum(len(org.peers) for org in network.organizations)
    return (f"{plural(len(network.organizations), 'organization')}, {plural(peers, 'peer')}, "
            f"{plural(len(network.orderer.nodes), 'orderer')}, {plural(len(network.channels), 'channel')}, "
            f"TLS {'on' if network.tls else 'off'}")


def _check_same_network(old: State | None, network_file: Path, network: Network, dirs: NetworkDir) -> None:
    if old is None:
        return
    if old.network_file != network_file:
        alive = [n.name for n in old.nodes if _running(dirs, n.name) is not None]
        doing = f"runs ({plural(len(alive), 'node')})" if alive else "was made"
        raise NetworkDirError(
            f"{dirs.root} holds network {old.name} of {old.network_file}, which {doing} there; "
            f"stop and remove it with `consortia network down --clean --dir {dirs.root}`, or give another --dir"
        )
    names = {spec.name for spec in node_specs(network)}
    orphans = [n.name for n in old.nodes if n.name not in names and _running(dirs, n.name) is not None]
    if orphans:
        raise NetworkDirError(f"{', '.join(orphans)} still run but are no longer in {network_file.name}; "
                              f"stop the network first with `consortia network down --dir {dirs.root}`")


def _make_material(network: Network, dirs: NetworkDir, report: Report) -> None:
    made = cryptogen.generate(network, dirs.crypto)
    if made.created:
        report(f"generated crypto material ({plural(len(made.created), 'new folder')}) in {dirs.crypto}")
    else:
        report(f"crypto material in place in {dirs.crypto}")
    dirs.channels.mkdir(exist_ok=True)
    written = []
    for channel in network.channels:
        path = dirs.channel_block(channel.name)
        config = build_channel_config(network, channel.name, dirs.crypto)
        if path.exists():  # another genesis block would start another chain
            try:
                existing = config_from_block(common_pb2.Block.FromString(path.read_bytes()))
            except (OSError, DecodeError, ConfigError) as exc:  # the nodes that joined have their own copies
                report(f"channel {channel.name}: its genesis block {path} cannot be read ({exc}); a node that has "
                       "not joined the channel yet cannot join it")
                continue
            if changes := config_drift(existing, config):
                report(f"channel {channel.name} keeps the configuration it was created with (channel configuration "
                       f"updates are not supported yet), ignoring what the network file changes: {'; '.join(changes)}")
            continue
        block = genesis_block(config)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(block.SerializeToString())
        tmp.replace(path)
        written.append(channel.name)
    if written:
        report(f"wrote the genesis {'block' if len(written) == 1 else 'blocks'} of {', '.join(written)}")
    elif network.channels:
        report("genesis blocks in place")


def _write_node_config(network: Network, dirs: NetworkDir, spec: NodeSpec,
                       placement: tuple[int, int | None] | None) -> None:
    node = dirs.node(spec.name)
    node.data.mkdir(parents=True, exist_ok=True)
    config = node_config(network, cryptogen.CryptoLayout(dirs.crypto, network), spec, node, placement)
    tmp = node.config.with_name(node.config.name + ".tmp")
    tmp.write_text(f"# Written by `consortia network up` from {network.name}; rewritten on every up.\n"
                   + yaml.safe_dump(config, sort_keys=False))
    tmp.replace(node.config)


def _tls_ca(dirs: NetworkDir, record: NodeRecord) -> bytes | None:
    return _read_bytes(dirs.root / record.tls_ca if record.tls_ca else None)


async def _wait_all_healthy(network: Network, dirs: NetworkDir, specs: list[NodeSpec],
                            started: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
    records = {r.name: r for r in node_records(network, dirs)}

    def alive(spec: NodeSpec) -> Callable[[], bool]:
        proc = started.get(spec.name)
        if proc is not None:
            return lambda: proc.poll() is None
        pid_file = dirs.node(spec.name).pid
        return lambda: (r := processes.read_pid(pid_file)) is not None and processes.is_running(r)

    waits = [
        processes.wait_healthy(spec.name, spec.address, _tls_ca(dirs, records[spec.name]), alive(spec),
                               dirs.node(spec.name).log, timeout)
        for spec in specs
    ]
    await _all_or_first_failure(waits)


async def _all_or_first_failure(awaitables: Sequence[Awaitable[None]]) -> None:
    """Run them concurrently; on the first failure cancel the rest and raise it."""
    tasks = [asyncio.ensure_future(a) for a in awaitables]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            error = task.exception()
            if error is not None:
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _admin(dirs: NetworkDir, record: NodeRecord, timeout: float) -> NodeEndpoint:
    signer = load_signing_identity(dirs.root / record.admin_msp_dir, record.msp_id)
    return NodeEndpoint(record.admin_address, signer, tls_ca=_tls_ca(dirs, record), timeout=timeout)


async def _join_channels(network: Network, dirs: NetworkDir, specs: list[NodeSpec], report: Report) -> None:
    """Join every channel's orderers, then its member peers, skipping what is joined."""
    if not network.channels:
        return
    records = {r.name: r for r in node_records(network, dirs)}
    blocks = {channel.name: dirs.channel_block(channel.name).read_bytes() for channel in network.channels}
    orderers = [s for s in specs if s.kind == "orderer"]
    peers = [s for s in specs if s.kind == "peer"]
    joined_now: dict[str, list[str]] = {}

    async def join(spec: NodeSpec, channels: list[str]) -> None:
        target = _admin(dirs, records[spec.name], ADMIN_TIMEOUT)
        have = {info.channel_id for info in (await adminclient.list_channels(target)).channels}
        for name in channels:
            if name not in have:
                try:
                    await adminclient.join_channel(target, blocks[name])
                except adminclient.AdminCallError as exc:
                    raise ConsortiaError(f"cannot join {spec.name} to channel {name}: {exc}") from exc
                joined_now.setdefault(name, []).append(spec.name)

    every = [c.name for c in network.channels]
    await _all_or_first_failure([join(spec, every) for spec in orderers])
    await _all_or_first_failure([
        join(spec, [c.name for c in network.channels if spec.msp_id in c.organizations]) for spec in peers
    ])
    for channel in network.channels:
        nodes = joined_now.get(channel.name, [])
        if nodes:
            report(f"joined {channel.name}: {', '.join(sorted(nodes, key=[s.name for s in specs].index))}")
    if not joined_now:
        report("every node had joined its channels already")


async def _stop_started(dirs: NetworkDir, started: dict[str, subprocess.Popen[bytes]], report: Report) -> None:
    if not started:
        return
    records = [r for name in started if (r := processes.read_pid(dirs.node(name).pid)) is not None]
    await asyncio.gather(*(processes.stop(r, grace=5.0) for r in records))
    for name, proc in started.items():
        proc.poll()
        dirs.node(name).pid.unlink(missing_ok=True)
    report(f"stopped the {plural(len(started), 'node')} this run started; their logs are in {dirs.nodes}")


# --- down -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stopped:
    name: str
    pid: int | None
    # "stopped", "killed" (did not stop within the grace period), "not running" (had died).
    outcome: str
    # Processes of the node's session that outlived it (a dead peer's chaincode), killed.
    leftovers: int = 0


async def down(dirs: NetworkDir, *, clean: bool = False, grace: float = processes.STOP_GRACE) -> list[Stopped]:
    """Stop every node of the directory; remove the directory too if `clean`. The nodes'
    pid files say what runs, so a state file that cannot be read does not stop `down`."""
    try:
        names = [n.name for n in require_state(dirs).nodes]
    except NetworkDirError:
        if not (dirs.state_file.exists() and dirs.nodes.is_dir()):
            raise  # no network here at all
        names = []
    if dirs.nodes.is_dir():  # a node started by an earlier version of the file, too
        names += sorted(p.parent.name for p in dirs.nodes.glob("*/node.pid") if p.parent.name not in names)
    with _locked(dirs):

        async def stop(name: str) -> Stopped | None:
            pid_file = dirs.node(name).pid
            record = processes.read_pid(pid_file)
            if record is None:
                return None
            outcome = await processes.stop(record, grace)
            leftovers = processes.kill_leftovers(record)
            pid_file.unlink(missing_ok=True)
            return Stopped(name, record.pid, outcome, leftovers)

        results = await asyncio.gather(*(stop(name) for name in names))
    if clean:
        shutil.rmtree(dirs.root)
    return [r for r in results if r is not None]


# --- status -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeStatus:
    name: str
    kind: str
    msp_id: str
    address: str
    admin_address: str
    pid: int | None
    running: bool
    # The gRPC health status (SERVING, NOT_SERVING, UNREACHABLE); None when not running.
    health: str | None
    # Channel -> block height, as the node's Admin service lists them.
    channels: dict[str, int] = field(default_factory=dict)
    error: str | None = None


async def node_status(dirs: NetworkDir, record: NodeRecord) -> NodeStatus:
    pid_record = processes.read_pid(dirs.node(record.name).pid)
    running = pid_record is not None and processes.is_running(pid_record)
    pid = pid_record.pid if pid_record is not None else None
    if not running:
        return NodeStatus(record.name, record.kind, record.msp_id, record.address, record.admin_address, pid,
                          False, None)
    tls_ca = _tls_ca(dirs, record)
    health, listing = await asyncio.gather(
        processes.health(record.address, tls_ca, STATUS_TIMEOUT),
        adminclient.list_channels(_admin(dirs, record, STATUS_TIMEOUT)),
        return_exceptions=True,
    )
    channels: dict[str, int] = {}
    error = None
    if isinstance(listing, BaseException):
        error = str(listing)
    else:
        channels = {info.channel_id: int(info.height) for info in listing.channels}
    return NodeStatus(record.name, record.kind, record.msp_id, record.address, record.admin_address, pid, True,
                      health if isinstance(health, str) else "UNREACHABLE", channels, error)


async def status(dirs: NetworkDir) -> tuple[State, list[NodeStatus]]:
    state = require_state(dirs)
    nodes = await asyncio.gather(*(node_status(dirs, record) for record in state.nodes))
    return state, list(nodes)
