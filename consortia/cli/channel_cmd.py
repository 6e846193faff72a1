"""`consortia channel genesis CHANNEL --network FILE --crypto DIR --out FILE.block`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.genesis import genesis_block
from consortia.config.network import load_network


def register(nouns: Any) -> None:
    channel = nouns.add_parser("channel", help="channel configuration")
    verbs = channel.add_subparsers(dest="verb", metavar="ACTION", required=True)
    genesis = verbs.add_parser("genesis", help="write a channel's genesis block")
    genesis.add_argument("channel", help="channel name, as in the network definition")
    genesis.add_argument("--network", required=True, help="network definition (YAML)")
    genesis.add_argument("--crypto", required=True, help="crypto material folder (consortia crypto generate)")
    genesis.add_argument("--out", required=True, help="where to write the block")
    genesis.set_defaults(handler=write_genesis)


def write_genesis(args: argparse.Namespace) -> int:
    network = load_network(args.network)
    block = genesis_block(build_channel_config(network, args.channel, args.crypto))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(block.SerializeToString())
    tmp.replace(out)
    print(f"wrote the genesis block of channel {args.channel} to {out}")
    return 0
