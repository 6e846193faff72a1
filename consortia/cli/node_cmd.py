"""`consortia orderer ...` and `consortia peer ...`: run a node and administer it.

`start` replaces this process with the node's own (`python -m orderer`, `python -m peer`):
the CLI starts nodes by command line, never by importing them. `join`, `list` and
`remove` sign an admin request with an org admin's identity and send it to the node's
admin endpoint.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any

from consortia import adminclient
from consortia.endpoint import NodeEndpoint
from consortia.errors import ConsortiaError


def _admin_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--admin", required=True, metavar="HOST:PORT", help="the node's admin endpoint")
    parser.add_argument("--msp-dir", required=True, help="MSP folder of an admin of the node's org (signcerts, keystore)")
    parser.add_argument("--msp-id", required=True, help="the admin's MSP id")
    parser.add_argument("--tls-ca", help="CA certificate of the node's TLS server (enables TLS)")
    parser.add_argument("--tls-cert", help="client TLS certificate (mutual TLS)")
    parser.add_argument("--tls-key", help="client TLS key (mutual TLS)")


def register(nouns: Any, node: str) -> None:
    parser = nouns.add_parser(node, help=f"run and administer {'an' if node[0] in 'aeiou' else 'a'} {node}")
    verbs = parser.add_subparsers(dest="verb", metavar="ACTION", required=True)
    start = verbs.add_parser("start", help=f"run {node} in the foreground")
    start.add_argument("--config", required=True, help="node configuration (YAML)")
    start.set_defaults(handler=lambda args: start_node(node, args))
    join = verbs.add_parser("join", help="join the node to a channel")
    join.add_argument("--channel-block", required=True, help="the channel's genesis block file")
    _admin_args(join)
    join.set_defaults(handler=join_channel)
    listing = verbs.add_parser("list", help="list the node's channels")
    _admin_args(listing)
    listing.set_defaults(handler=list_channels)
    remove = verbs.add_parser("remove", help="remove a channel from the node, deleting its ledger")
    remove.add_argument("--channel", required=True)
    _admin_args(remove)
    remove.set_defaults(handler=remove_channel)


def start_node(node: str, args: argparse.Namespace) -> int:
    if not Path(args.config).is_file():
        raise ConsortiaError(f"node configuration {args.config} does not exist")
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, "-m", node, "--config", args.config])
    return 0  # not reached


def _target(args: argparse.Namespace) -> NodeEndpoint:
    return NodeEndpoint.from_files(args.admin, args.msp_dir, args.msp_id, args.tls_ca, args.tls_cert, args.tls_key)


def join_channel(args: argparse.Namespace) -> int:
    path = Path(args.channel_block)
    try:
        block = path.read_bytes()
    except OSError as exc:
        raise ConsortiaError(f"cannot read channel block {path}: {exc.strerror}") from exc
    info = asyncio.run(adminclient.join_channel(_target(args), block))
    print(f"joined channel {info.channel_id} (height {info.height})")
    return 0


def list_channels(args: argparse.Namespace) -> int:
    result = asyncio.run(adminclient.list_channels(_target(args)))
    for info in result.channels:
        print(f"{info.channel_id}\theight {info.height}")
    if not result.channels:
        print("no channels")
    return 0


def remove_channel(args: argparse.Namespace) -> int:
    info = asyncio.run(adminclient.remove_channel(_target(args), args.channel))
    print(f"removed channel {info.channel_id} (it had {info.height} blocks)")
    return 0
