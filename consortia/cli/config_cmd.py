"""`consortia config check FILE`: validate a network definition without touching anything."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from consortia.config.network import load_network
from consortia.errors import ConfigError


def register(nouns: Any) -> None:
    config = nouns.add_parser("config", help="check configuration files")
    verbs = config.add_subparsers(dest="verb", metavar="ACTION", required=True)
    check = verbs.add_parser("check", help="validate a network definition")
    check.add_argument("file", help="network definition (YAML), e.g. network-config/carbon-market.yaml")
    check.set_defaults(handler=check_file)


def check_file(args: argparse.Namespace) -> int:
    try:
        network = load_network(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        count = len(exc.problems)
        print(f"{args.file}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        return 1
    nodes = len(network.orderer.nodes) + sum(len(o.peers) for o in network.organizations)
    print(
        f"{args.file}: network {network.name!r} is valid: {len(network.organizations)} organizations, "
        f"{nodes} nodes, {len(network.channels)} channels ({', '.join(c.name for c in network.channels)})"
    )
    return 0
