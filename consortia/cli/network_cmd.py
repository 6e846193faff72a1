"""`consortia network up | down | status | logs`: a whole network on this machine.

    consortia network up [FILE] [--dir DIR]      crypto, genesis blocks, nodes, channels, chaincode
    consortia network status [--dir DIR] [--json]
    consortia network logs NODE [--chaincode NAME] [--dir DIR] [-n LINES] [-f]
    consortia network down [--dir DIR] [--clean]

Everything lives in one directory (default ./consortia-network, or
$CONSORTIA_NETWORK_DIR): see consortia/network/layout.py. Nodes are named as their
crypto folders, e.g. `orderer0.orderer.example.com`, `peer0.org1.example.com`; `logs`
takes any unambiguous start of a name (`orderer0`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from consortia.cli.argtypes import positive_int
from consortia.config.network import Network, load_network
from consortia.config.node import chaincode_log_dir
from consortia.errors import ConfigError
from consortia.network import supervisor
from consortia.network.layout import (
    DEFAULT_DIR,
    DIR_ENV,
    NetworkDir,
    NetworkDirError,
    NodeRecord,
    State,
    default_dir,
    matching_names,
    read_state,
    require_state,
)
from consortia.network.processes import STOP_GRACE, follow, tail
from consortia.network.profile import connection_profile, read_profile
from consortia.network.supervisor import NodeStatus, plural

DEFAULT_NETWORK = "network-config/carbon-market.yaml"
NO_PEER = "(none: use another organization's peer)"


def register(nouns: Any) -> None:
    network = nouns.add_parser("network", help="run a whole network on this machine: up, down, status, logs")
    verbs = network.add_subparsers(dest="verb", metavar="ACTION", required=True)
    up = verbs.add_parser("up", help="generate what is missing, start every node, join channels, deploy chaincode")
    up.add_argument("file", nargs="?", help=f"network definition (default: the one the directory was made from, "
                                            f"or {DEFAULT_NETWORK})")
    dir_arg(up)
    up.set_defaults(handler=run_up)
    down = verbs.add_parser("down", help="stop every node of the network")
    dir_arg(down)
    down.add_argument("--clean", action="store_true", help="then delete the directory: ledgers, crypto, logs")
    down.set_defaults(handler=run_down)
    status = verbs.add_parser("status", help="nodes, channel heights, and how to connect (exit 1 unless all run)")
    dir_arg(status)
    status.add_argument("--json", action="store_true", help="print it as JSON")
    status.set_defaults(handler=run_status)
    logs = verbs.add_parser("logs", help="print a node's log, or that of a chaincode a peer runs")
    logs.add_argument("node", help="node name as `network status` shows it, or an unambiguous start of it")
    dir_arg(logs)
    logs.add_argument("--chaincode", metavar="NAME",
                      help="the log of the chaincode process the peer runs for NAME: its package label "
                           "(asset_1.0), or an unambiguous start of it")
    logs.add_argument("-n", "--lines", type=positive_int, metavar="LINES", help="only the last LINES lines")
    logs.add_argument("-f", "--follow", action="store_true", help="then print what the node logs, as it comes, "
                                                                  "until Ctrl-C")
    logs.set_defaults(handler=run_logs)


def dir_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dir", help=f"the network directory (default: ${DIR_ENV} or ./{DEFAULT_DIR})")


def network_dir(args: argparse.Namespace) -> NetworkDir:
    return NetworkDir(Path(args.dir) if args.dir else default_dir())


def _dir_option(args: argparse.Namespace) -> str:
    """What to add to a `consortia network` command to reach the same directory."""
    return f" --dir {args.dir}" if args.dir else ""


def _say(text: str = "") -> None:
    """Print a line; if stdout was closed (`| head`), keep working silently: a network
    must not be stopped half-way because nobody reads its progress any more."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _stdout_to_devnull()


def _stdout_to_devnull() -> None:
    """After a broken pipe: later writes, and the flush at exit, go nowhere quietly."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


class _Clock:
    """Prints each step with the time since the command started: `[ 1.2s] step`."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def __call__(self, message: str) -> None:
        _say(f"[{self.elapsed():4.1f}s] {message}")


# --- up ---------------------------------------------------------------------------------


def run_up(args: argparse.Namespace) -> int:
    dirs = network_dir(args)
    if args.file:
        file = Path(args.file)
    else:
        state = read_state(dirs)
        file = state.network_file if state is not None else Path(DEFAULT_NETWORK)
    clock = _Clock()
    try:
        result = asyncio.run(supervisor.up(file, dirs, clock))
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"{file}: {plural(len(exc.problems), 'problem')}; nothing was created or started", file=sys.stderr)
        return 1
    if result.already_running:
        _say(f"network {result.state.name} is already running in {dirs.root} "
             f"({plural(len(result.state.nodes), 'node')}); `consortia network status{_dir_option(args)}` shows it")
        return 0
    clock(f"network {result.network.name} is up")
    _say()
    _say(_summary(result.network, result.state, dirs, args))
    return 0


def _table(rows: list[list[str]], indent: str = "  ") -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows)


def _summary(network: Network, state: State, dirs: NetworkDir, args: argparse.Namespace) -> str:
    nodes = [["node", "kind", "endpoint", "admin", "org"]]
    nodes += [[n.name, n.kind, n.address, n.admin_address, n.msp_id] for n in state.nodes]
    orgs = [["organization", "MSP id", "gateway peers", "users"]]
    for org in network.organizations:
        gateways = [n.address for n in state.nodes if n.kind == "peer" and n.msp_id == org.msp_id]
        orgs.append([org.name, org.msp_id, ", ".join(gateways) or NO_PEER,
                     ", ".join(["Admin", *(u.name for u in org.users)])])
    channels = [["channel", "members", "chaincodes"]]
    channels += [[c.name, ", ".join(c.organizations), ", ".join(cc.name for cc in c.chaincodes) or "(none)"]
                 for c in network.channels]
    dir_opt = _dir_option(args)
    env = f"{DIR_ENV}={args.dir} " if args.dir else ""
    org = next((o for o in network.organizations if o.peers), network.organizations[0])
    user = org.users[0].name if org.users else "Admin"
    channel = next((c for c in network.channels if org.msp_id in c.organizations), None)
    chaincode = next((cc.name for cc in channel.chaincodes), "CHAINCODE") if channel else "CHAINCODE"
    lines = [
        f"Network {network.name} (TLS {'on' if network.tls else 'off'}), from {state.network_file}",
        "",
        _table(nodes),
        "",
        _table(orgs),
    ]
    if network.channels:
        lines += ["", _table(channels)]
    lines += [
        "",
        f"Identities:          {dirs.crypto}/peerOrganizations/<domain>/users/<user>@<domain>/{{msp,tls}}",
        f"Connection profile:  {dirs.profile}",
        f"Logs:                {dirs.nodes}/<node>/node.log (a peer's chaincode: network logs PEER --chaincode NAME)",
        "",
        "Next:",
        f"  consortia network status{dir_opt}",
    ]
    if channel is not None:
        lines.append(f"  {env}consortia query {channel.name} {chaincode} FUNCTION ARGS... --org {org.name} --user {user}")
    lines.append(f"  consortia network logs {state.nodes[-1].name}{dir_opt}")
    peer = next((n for n in state.nodes if n.kind == "peer"), None)
    if peer is not None and channel is not None and channel.chaincodes:
        lines.append(f"  consortia network logs {peer.name} --chaincode {chaincode}{dir_opt}")
    lines += [
        f"  consortia network down{dir_opt}            (--clean also deletes {dirs.root})",
    ]
    return "\n".join(lines)


# --- down -------------------------------------------------------------------------------


def run_down(args: argparse.Namespace) -> int:
    dirs = network_dir(args)
    if not dirs.state_file.exists():  # (one that cannot be read still leaves the nodes' pid files to go by)
        _say(f"no network in {dirs.root}; nothing to stop")
        return 0
    clock = _Clock()
    results = asyncio.run(supervisor.down(dirs, clean=args.clean))
    for stopped in results:
        if stopped.outcome == "not running":
            line = f"{stopped.name} was not running (pid {stopped.pid} had exited)"
        elif stopped.outcome == "killed":
            line = f"killed {stopped.name} (pid {stopped.pid}): it did not stop within {STOP_GRACE:.0f}s"
        else:
            line = f"stopped {stopped.name} (pid {stopped.pid})"
        if stopped.leftovers:
            line += f"; killed {plural(stopped.leftovers, 'leftover process')} it had started"
        clock(line)
    if not results:
        clock("no node was running")
    if args.clean:
        clock(f"removed {dirs.root}")
    else:
        clock(f"network stopped; `consortia network up{_dir_option(args)}` starts it again with its ledgers")
    return 0


# --- status -----------------------------------------------------------------------------


def _state_of(node: NodeStatus) -> str:
    if node.running:
        return "running"
    return "dead" if node.pid is not None else "stopped"


def run_status(args: argparse.Namespace) -> int:
    dirs = network_dir(args)
    state, nodes = asyncio.run(supervisor.status(dirs))
    profile = read_profile(dirs.profile) or _profile_from_file(state, dirs)
    healthy = all(n.running and n.health == "SERVING" for n in nodes)
    if args.json:
        doc = {
            "network": state.name,
            "network_file": str(state.network_file),
            "directory": str(dirs.root.resolve()),
            "tls": state.tls,
            "ready": state.ready,
            "nodes": [
                {"name": n.name, "kind": n.kind, "msp_id": n.msp_id, "state": _state_of(n), "pid": n.pid,
                 "health": n.health, "address": n.address, "admin_address": n.admin_address,
                 "channels": n.channels, "error": n.error}
                for n in nodes
            ],
            "profile": profile,
        }
        _say(json.dumps(doc, indent=2))
        return 0 if healthy else 1
    _say(f"Network {state.name} (TLS {'on' if state.tls else 'off'}) in {dirs.root}, from {state.network_file}")
    _say()
    rows = [["node", "state", "pid", "health", "endpoint", "channels (height)"]]
    for n in nodes:
        channels = ", ".join(f"{name} {height}" for name, height in sorted(n.channels.items()))
        if n.error:
            channels = f"(admin: {n.error})"
        rows.append([n.name, _state_of(n), str(n.pid) if n.pid is not None else "-",
                     n.health or "-", n.address, channels or ("-" if not n.running else "(none)")])
    _say(_table(rows))
    if profile is not None:
        _say()
        _say(f"Organizations (connection profile {dirs.profile}):")
        _say(_orgs_text(profile))
    dead = [n.name for n in nodes if _state_of(n) == "dead"]
    stopped = [n.name for n in nodes if _state_of(n) == "stopped"]
    _say()
    if dead:
        _say(f"{plural(len(dead), 'node')} died: {', '.join(dead)}; `consortia network logs NAME{_dir_option(args)}` "
             f"shows why, `consortia network up{_dir_option(args)}` starts {'it' if len(dead) == 1 else 'them'} again")
    if stopped and len(stopped) == len(nodes):
        _say(f"the network is stopped; `consortia network up{_dir_option(args)}` starts it")
    elif stopped:
        _say(f"not running: {', '.join(stopped)}; `consortia network up{_dir_option(args)}` starts them")
    unhealthy = [n.name for n in nodes if n.running and n.health != "SERVING"]
    if unhealthy:
        _say(f"running but not serving: {', '.join(unhealthy)}; `consortia network logs NAME{_dir_option(args)}` "
             "shows what they are doing")
    if not state.ready:
        _say(f"`consortia network up{_dir_option(args)}` has not finished (it failed or was interrupted); "
             "run it again to complete the channels and chaincode")
    if healthy:
        _say(f"all {plural(len(nodes), 'node')} running and serving")
    return 0 if healthy else 1


def _profile_from_file(state: State, dirs: NetworkDir) -> dict[str, Any] | None:
    try:
        return connection_profile(load_network(state.network_file), dirs.crypto)
    except (ConfigError, OSError):
        return None


def _show(path: str) -> str:
    """A path as short as it can be: relative to here when it lies below."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _orgs_text(profile: dict[str, Any]) -> str:
    lines = []
    peers = profile.get("peers", {})
    for name, org in profile.get("organizations", {}).items():
        lines.append(f"  {name} ({org['mspid']})")
        gateways = [f"{p} {peers[p]['url']}" for p in org.get("peers", []) if p in peers]
        if "orderers" not in org:
            lines.append(f"    gateway    {'; '.join(gateways) or NO_PEER}")
        if profile.get("tls"):
            lines.append(f"    TLS CA     {_show(org['tlsCACerts']['path'])}")
        for user, files in org.get("users", {}).items():
            lines.append(f"    {user:<10} cert {_show(files['cert'])}")
            lines.append(f"    {'':<10} key  {_show(files['key'])}")
            lines.append(f"    {'':<10} TLS  {_show(files['tlsCert'])} {_show(files['tlsKey'])}")
    return "\n".join(lines)


# --- logs -------------------------------------------------------------------------------


def run_logs(args: argparse.Namespace) -> int:
    dirs = network_dir(args)
    node = require_state(dirs).node(args.node)
    if args.chaincode is not None:
        log = _chaincode_log(node, dirs, args.chaincode)
    else:
        log = dirs.node(node.name).log
        if not log.is_file():
            print(f"{node.name} has no log yet ({log})", file=sys.stderr)
            return 1
    text = tail(log, args.lines if args.lines is not None else 0)
    if text:
        _say(text)
    if args.follow:
        try:
            follow(log, _write, lambda: True)
        except KeyboardInterrupt:
            pass
        except BrokenPipeError:  # `logs -f | head`: the reader has had enough
            _stdout_to_devnull()
    return 0


def _chaincode_log(node: NodeRecord, dirs: NetworkDir, name: str) -> Path:
    """The log of the chaincode process `node` runs for `name`. The peer names each log
    after the package's label and the start of its digest (`asset_1.0-4c522fcbcb32.log`)
    or, for a chaincode its own configuration lists, the chaincode's name; `name` is
    either, or an unambiguous start of one, as node names are."""
    if node.kind != "peer":
        raise NetworkDirError(f"{node.name} is an {node.kind}; only peers run chaincode")
    if not name:
        raise NetworkDirError("--chaincode needs a name: a package label, or the start of one")
    folder = chaincode_log_dir(dirs.node(node.name).data)
    logs = sorted(path.stem for path in folder.glob("*.log"))
    matches = matching_names(name, logs)
    if not matches:
        raise NetworkDirError(f"{node.name} has no chaincode log for {name!r}; its chaincode logs: "
                              f"{', '.join(logs) or 'none yet'}")
    if len(matches) > 1:  # an upgrade leaves the old package's log: which one is meant?
        raise NetworkDirError(f"{name!r} could be the log of any of {', '.join(matches)} on {node.name}: "
                              f"give more of the name")
    return folder / f"{matches[0]}.log"


def _write(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()
