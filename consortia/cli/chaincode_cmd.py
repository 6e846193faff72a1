"""`consortia chaincode serve FOLDER --peer ADDR | --listen ADDR`: run a contract package;
and the lifecycle commands (package, install, approve, commit, ...: see lifecycle_cmd).

`serve` replaces itself with `python -m chaincode serve ...`: the CLI starts the
chaincode runtime by command line, never by importing it.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from consortia.cli import lifecycle_cmd
from consortia.errors import ConsortiaError


def register(nouns: Any) -> None:
    chaincode = nouns.add_parser("chaincode", help="run chaincode; package, install, approve and commit it")
    verbs = chaincode.add_subparsers(dest="verb", metavar="ACTION", required=True)
    serve = verbs.add_parser("serve", help="run a contract package, connected to a peer or as a service")
    serve.add_argument("folder", help="the contract package (a Python package folder)")
    mode = serve.add_mutually_exclusive_group(required=True)
    mode.add_argument("--peer", metavar="HOST:PORT", help="connect to the peer's chaincode listener")
    mode.add_argument("--listen", metavar="HOST:PORT", help="serve as chaincode-as-a-service on this address")
    serve.add_argument("--id", help="the name to register with (default: the folder's name)")
    serve.add_argument("--tls-ca", help="CA certificate of the peer's TLS server")
    serve.add_argument("--tls-cert", help="TLS certificate")
    serve.add_argument("--tls-key", help="TLS key")
    serve.add_argument("--tls-client-ca", help="as a service: require peers to present a certificate from this CA")
    serve.set_defaults(handler=run_serve)
    lifecycle_cmd.register(verbs)


def run_serve(args: argparse.Namespace) -> int:
    if not Path(args.folder).is_dir():
        raise ConsortiaError(f"contract package {args.folder} does not exist")
    command = [sys.executable, "-m", "chaincode", "serve", args.folder]
    for flag in ("peer", "listen", "id", "tls_ca", "tls_cert", "tls_key", "tls_client_ca"):
        value = getattr(args, flag)
        if value:
            command += [f"--{flag.replace('_', '-')}", value]
    sys.stdout.flush()
    os.execv(sys.executable, command)
    return 0  # not reached
