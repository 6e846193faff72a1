"""`python -m chaincode serve FOLDER (--peer HOST:PORT --id NAME | --listen HOST:PORT --id NAME)`

Runs the contracts of a package folder: connected to a peer (Fabric's classic mode; the
peer launches this command itself), or as a chaincode-as-a-service the peer connects
to. `consortia chaincode serve` runs this module. The peer address and id may also come
from CORE_PEER_ADDRESS and CORE_CHAINCODE_ID_NAME, and the listen address from
CHAINCODE_SERVER_ADDRESS, as with Fabric's own chaincode libraries.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import grpc

from chaincode.contract import ContractChaincode, load_contracts
from chaincode.shim import server
from consortia.errors import ConsortiaError
from consortia.grpcenv import run as run_event_loop


def _read(path: str | None) -> bytes | None:
    return Path(path).read_bytes() if path else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chaincode", description="Run a Consortia contract package.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    serve = verbs.add_parser("serve", help="run a contract package")
    serve.add_argument("folder", help="the contract package (a Python package folder)")
    serve.add_argument("--peer", default=os.environ.get("CORE_PEER_ADDRESS"), help="connect to this peer")
    serve.add_argument("--listen", default=os.environ.get("CHAINCODE_SERVER_ADDRESS"),
                       help="serve as chaincode-as-a-service on this address instead")
    serve.add_argument("--id", default=os.environ.get("CORE_CHAINCODE_ID_NAME") or os.environ.get("CHAINCODE_ID"),
                       help="the name (or package id) to register with")
    serve.add_argument("--tls-ca", help="CA certificate of the peer's TLS server (classic mode)")
    serve.add_argument("--tls-cert", help="TLS certificate (client in classic mode, server as a service)")
    serve.add_argument("--tls-key", help="TLS key")
    serve.add_argument("--tls-client-ca", help="as a service: require peers to present a certificate from this CA")
    serve.add_argument("--log-level", default=os.environ.get("CORE_CHAINCODE_LOGGING_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        stream=sys.stderr)
    if (args.peer is None) == (args.listen is None):
        parser.error("give exactly one of --peer (connect to a peer) and --listen (serve as a service)")
    try:
        contracts = load_contracts(args.folder)
        chaincode = ContractChaincode(*contracts)
    except ConsortiaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    chaincode_id = args.id or Path(args.folder).resolve().name
    try:
        if args.peer:
            run_event_loop(server.connect(args.peer, chaincode_id, chaincode, root_ca=_read(args.tls_ca),
                                          client_cert=_read(args.tls_cert), client_key=_read(args.tls_key)))
            return 2  # the peer went away: the peer that launched us starts us again
        run_event_loop(server.serve(args.listen, chaincode_id, chaincode, cert=_read(args.tls_cert),
                                    key=_read(args.tls_key), client_root_ca=_read(args.tls_client_ca)))
    except KeyboardInterrupt:
        return 0
    except grpc.aio.AioRpcError as exc:
        print(f"error: the peer at {args.peer} cannot be reached: {exc.details()} ({exc.code().name})", file=sys.stderr)
        return 2
    except ConsortiaError as exc:  # the peer refused the registration
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0
