"""`consortia crypto generate FILE --out DIR`: keys and certificates for a network."""

from __future__ import annotations

import argparse
from typing import Any

from consortia import cryptogen
from consortia.config.network import load_network


def register(nouns: Any) -> None:
    crypto = nouns.add_parser("crypto", help="generate crypto material")
    verbs = crypto.add_subparsers(dest="verb", metavar="ACTION", required=True)
    generate = verbs.add_parser(
        "generate",
        help="create every org's CAs and the certificates and keys of its nodes and users (cryptogen layout)",
    )
    generate.add_argument("file", help="network definition (YAML), e.g. network-config/carbon-market.yaml")
    generate.add_argument("--out", default="crypto-config", help="output folder (default: crypto-config)")
    generate.add_argument("--force", action="store_true", help="discard existing material and start over")
    generate.set_defaults(handler=generate_material)


def generate_material(args: argparse.Namespace) -> int:
    network = load_network(args.file)
    report = cryptogen.generate(network, args.out, force=args.force)
    for path in report.created:
        print(f"created  {path}")
    print(
        f"{args.out}: {len(report.created)} created, {len(report.kept)} kept "
        f"for network {network.name!r} ({len(network.organizations) + 1} organizations)"
    )
    return 0
