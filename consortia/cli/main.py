"""Entry point of the `consortia` command.

Each noun registers its sub-commands; a handler returns the exit code. Any deliberate
Consortia error is printed as a message for a person (no traceback) and exits 1;
usage mistakes exit 2, as argparse does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from consortia import __version__
from consortia.cli import (
    carbon_cmd,
    chaincode_cmd,
    channel_cmd,
    client_cmd,
    config_cmd,
    crypto_cmd,
    network_cmd,
    node_cmd,
)
from consortia.errors import ConsortiaError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="consortia",
        description="Consortia: a consortium blockchain framework, wire-compatible with Hyperledger Fabric.",
    )
    parser.add_argument("--version", action="version", version=f"consortia {__version__}")
    nouns = parser.add_subparsers(dest="noun", metavar="COMMAND", required=True)
    crypto_cmd.register(nouns)
    config_cmd.register(nouns)
    channel_cmd.register(nouns)
    node_cmd.register(nouns, "orderer")
    node_cmd.register(nouns, "peer")
    chaincode_cmd.register(nouns)
    client_cmd.register(nouns)
    network_cmd.register(nouns)
    carbon_cmd.register(nouns)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except ConsortiaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        where = f" {exc.filename}" if exc.filename else ""
        print(f"error:{where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
