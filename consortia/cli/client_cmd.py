"""`consortia invoke | query | events`: use a network's chaincode as one of its users.

    consortia query trading trading GetOrder o1 --org Exchange --user Trader1
    consortia invoke trading trading PlaceOrder o1 100 --org Emitter --user Operator --tls
    consortia events trading --chaincode trading --from 5 --org MEE --user Regulator

The user's identity comes from the crypto folder (`consortia crypto generate`), the
peer's address from the network definition (the org's first peer), unless overridden.
Against a network started with `consortia network up` no option is needed but the org:
when ./consortia-network (or $CONSORTIA_NETWORK_DIR) holds one, the network file and
crypto folder default to its own, and TLS is used when the network runs it (trusting
the org's TLS CA).
Results go to stdout (as text, or hex when not UTF-8); `invoke` reports the block it
committed in on stderr, and exits 1 with the validation code when the transaction
committed as invalid.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from fabric_protos.common import common_pb2

from consortia.cli.argtypes import block_number, positive_int, seconds
from consortia.client import ChaincodeEvent, CommitError, EventStream, FileCheckpointer, Gateway, Timeouts, connect
from consortia.client.errors import validation_code_name
from consortia.config.network import Network, Organization, load_network
from consortia.config.node import split_address
from consortia.cryptogen import ADMIN, CryptoLayout, OrgLayout
from consortia.endpoint import NodeEndpoint
from consortia.errors import ConsortiaError
from consortia.msp.layout import load_signing_identity
from consortia.msp.signing import SigningIdentity
from consortia.network.layout import NetworkDir, NetworkDirError, State, default_dir, read_state
from consortia.protoutil import block as blocks

DEFAULT_NETWORK = "network-config/carbon-market.yaml"
DEFAULT_CRYPTO = "crypto-config"


def register(nouns: Any) -> None:
    invoke = nouns.add_parser("invoke", help="submit a transaction and wait for it to commit")
    _call_args(invoke)
    invoke.add_argument("--endorsing-org", action="append", default=[], metavar="MSPID", dest="endorsing_orgs",
                        help="ask only peers of this organization to endorse (repeatable)")
    invoke.add_argument("--init", action="store_true",
                        help="the chaincode's initialization, first of all when its definition requires one")
    invoke.set_defaults(handler=run_invoke)
    query = nouns.add_parser("query", help="evaluate a transaction function on a peer; nothing is recorded")
    _call_args(query)
    query.set_defaults(handler=run_query)
    events = nouns.add_parser("events", help="print chaincode events, or blocks, as they commit")
    events.add_argument("channel", help="channel name")
    events.add_argument("--chaincode", help="print this chaincode's events (default: print blocks)")
    events.add_argument("--from", dest="start", type=block_number, metavar="BLOCK",
                        help="start at this block (default: the next commit for events, the newest block for blocks)")
    events.add_argument("--limit", type=positive_int, metavar="N", help="exit after N events or blocks")
    events.add_argument("--checkpoint", metavar="FILE",
                        help="resume from the position saved in FILE, and save progress there")
    _connection_args(events)
    events.add_argument("--timeout", type=seconds, metavar="SECONDS",
                        help="give up (exit 1) if the stream has not ended within SECONDS (default: never)")
    events.set_defaults(handler=run_events)


def _call_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("channel", help="channel name")
    parser.add_argument("chaincode", help="chaincode name")
    parser.add_argument("function", help="transaction function (Contract:function for a named contract)")
    parser.add_argument("args", nargs="*", help="arguments, sent as UTF-8 text")
    _connection_args(parser)
    parser.add_argument("--transient", action="append", default=[], metavar="KEY=VALUE",
                        help="private input, not recorded on the ledger (repeatable)")
    parser.add_argument("--timeout", type=seconds, metavar="SECONDS",
                        help="time limit of each gateway call (default: evaluate, endorse and submit 30 s, commit 60 s)")


def running_network() -> tuple[NetworkDir, State] | None:
    """The network `consortia network up` made in $CONSORTIA_NETWORK_DIR or ./consortia-network, if any."""
    dirs = NetworkDir(default_dir())
    try:
        state = read_state(dirs)
    except NetworkDirError:
        return None
    return (dirs, state) if state is not None else None


def _connection_args(parser: argparse.ArgumentParser) -> None:
    found = running_network()
    network, crypto = (str(found[1].network_file), str(found[0].crypto)) if found else (DEFAULT_NETWORK, DEFAULT_CRYPTO)
    where = f"the network of {found[0].root}: {network}" if found else DEFAULT_NETWORK
    parser.add_argument("--network", default=network, help=f"network definition (default: {where})")
    parser.add_argument("--crypto", default=crypto, help=f"crypto material folder (default: {crypto})")
    parser.add_argument("--org", required=True, help="the user's organization: its name or MSP id")
    parser.add_argument("--user", help="user name within the organization (default: its first user in the network "
                                       "file; Admin allowed)")
    parser.add_argument("--peer", metavar="HOST:PORT", help="the peer whose gateway to use (default: the org's first peer)")
    parser.add_argument("--tls", action="store_true",
                        help="connect with TLS: trust the org's TLS CA and present the user's TLS client certificate")
    parser.add_argument("--tls-ca", metavar="FILE", help="TLS CA certificate of the peer (implies TLS)")
    parser.add_argument("--tls-cert", metavar="FILE", help="client TLS certificate (default with --tls: the user's)")
    parser.add_argument("--tls-key", metavar="FILE", help="client TLS key (default with --tls: the user's)")


# --- who connects where -------------------------------------------------------------


def find_organization(network: Network, name: str, source: str) -> Organization:
    """The peer organization named `name` (its name or MSP id, any case)."""
    for exact in (True, False):
        for org in network.organizations:
            candidates = (org.name, org.msp_id)
            if name in candidates if exact else name.lower() in (c.lower() for c in candidates):
                return org
    if name.lower() in (network.orderer.name.lower(), network.orderer.msp_id.lower()):
        raise ConsortiaError(f"{name!r} is the ordering organization of {source}; it runs no peer gateway: "
                             "choose a peer organization")
    known = ", ".join(f"{o.name} ({o.msp_id})" for o in network.organizations)
    raise ConsortiaError(f"unknown organization {name!r} in {source}; its organizations are {known}")


def _read(path: Path | str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConsortiaError(f"cannot read {what} {path}: {exc.strerror or exc}") from exc


def _address(network: Network, org: Organization, peer: str | None) -> str:
    if peer:
        try:
            split_address(peer)
        except ValueError:
            raise ConsortiaError(f"--peer expects HOST:PORT (e.g. 127.0.0.1:7051), got {peer!r}") from None
        return peer
    if not org.peers:
        raise ConsortiaError(f"organization {org.name} ({org.msp_id}) runs no peer: give --peer HOST:PORT "
                             "of the peer (of another organization) whose gateway to use")
    listen = network.node_ports()[(org.msp_id, org.peers[0].name)].listen
    host = f"[{network.host}]" if ":" in network.host else network.host
    return f"{host}:{listen}"


def _user(args: argparse.Namespace, network: Network, org: Organization, layout: OrgLayout) -> tuple[SigningIdentity, Path]:
    users = [ADMIN, *(u.name for u in org.users)]
    user = args.user or (org.users[0].name if org.users else ADMIN)
    if user not in users:
        raise ConsortiaError(
            f"organization {org.name} has no user {user!r} in {args.network}; its users are {', '.join(users)}"
        )
    folder = layout.user_dir(user)
    msp = folder / "msp"
    if not msp.is_dir():
        raise ConsortiaError(
            f"no crypto material for {user}@{org.domain}: {msp} does not exist; generate it with "
            f"`consortia crypto generate {args.network} --out {args.crypto}`"
        )
    return load_signing_identity(msp, org.msp_id), folder


def resolve_target(args: argparse.Namespace) -> NodeEndpoint:
    """Turn the connection options into a NodeEndpoint, or say exactly what is missing."""
    network = load_network(args.network)
    org = find_organization(network, args.org, args.network)
    layout = CryptoLayout(Path(args.crypto), network).org(org.msp_id)
    signer, user_dir = _user(args, network, org, layout)
    address = _address(network, org, args.peer)
    if (args.tls_cert is None) != (args.tls_key is None):
        raise ConsortiaError("--tls-cert and --tls-key go together: give both or neither")
    if not (args.tls or args.tls_ca or args.tls_cert or (network.tls and _started_by_network_up(args))):
        return NodeEndpoint(address, signer)
    root_ca = _read(args.tls_ca or layout.tlsca_cert, "TLS CA certificate")
    cert = key = None
    if args.tls_cert:
        cert, key = _read(args.tls_cert, "client TLS certificate"), _read(args.tls_key, "client TLS key")
    elif args.tls:
        cert = _read(user_dir / "tls" / "client.crt", "client TLS certificate")
        key = _read(user_dir / "tls" / "client.key", "client TLS key")
    return NodeEndpoint(address, signer, root_ca, cert, key)


def _started_by_network_up(args: argparse.Namespace) -> bool:
    """Whether the options name the network (file and crypto) `consortia network up` runs."""
    found = running_network()
    if found is None:
        return False
    dirs, state = found
    return Path(args.network).resolve() == state.network_file and Path(args.crypto).resolve() == dirs.crypto.resolve()


def parse_transient(items: list[str]) -> dict[str, bytes]:
    """`--transient KEY=VALUE` options as the transient map (values as UTF-8)."""
    transient: dict[str, bytes] = {}
    for item in items:
        key, equals, value = item.partition("=")
        if not equals or not key:
            raise ConsortiaError(f"--transient expects KEY=VALUE, got {item!r}")
        if key in transient:
            raise ConsortiaError(f"--transient key {key!r} is given twice")
        transient[key] = value.encode()
    return transient


@contextmanager
def _gateway(args: argparse.Namespace, timeout: float | None = None) -> Iterator[Gateway]:
    """A gateway for the options in `args`; `timeout` replaces every call's default limit."""
    target = resolve_target(args)
    defaults = Timeouts()
    with connect(
        target.address,
        signer=target.signer,
        tls_root_ca=target.tls_ca,
        client_cert=target.client_cert,
        client_key=target.client_key,
        evaluate_timeout=timeout or defaults.evaluate,
        endorse_timeout=timeout or defaults.endorse,
        submit_timeout=timeout or defaults.submit,
        commit_status_timeout=timeout or defaults.commit_status,
    ) as gateway:
        yield gateway


# --- output ---------------------------------------------------------------------------


def as_text(data: bytes) -> str:
    """Bytes for a person: UTF-8 text, or hex when they are not text."""
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data.hex()


def _print_result(result: bytes) -> None:
    if result:
        print(as_text(result), flush=True)


def event_line(event: ChaincodeEvent) -> str:
    return f"block {event.block_number}\ttx {event.transaction_id}\t{event.event_name}\t{as_text(event.payload)}"


def block_line(block: common_pb2.Block) -> str:
    count = len(block.data.data)
    codes = blocks.transactions_filter(block)
    names = Counter(
        validation_code_name(codes[index]) if index < len(codes) else "NOT_VALIDATED" for index in range(count)
    )
    summary = ", ".join(f"{n} {name}" for name, n in sorted(names.items()))
    noun = "transaction" if count == 1 else "transactions"
    return f"block {block.header.number}\t{count} {noun}" + (f"\t{summary}" if summary else "")


# --- handlers -------------------------------------------------------------------------


def run_query(args: argparse.Namespace) -> int:
    transient = parse_transient(args.transient)
    with _gateway(args, args.timeout) as gateway:
        contract = gateway.get_network(args.channel).get_contract(args.chaincode)
        result = contract.evaluate(args.function, args.args, transient)
    _print_result(result)
    return 0


def run_invoke(args: argparse.Namespace) -> int:
    transient = parse_transient(args.transient)
    with _gateway(args, args.timeout) as gateway:
        contract = gateway.get_network(args.channel).get_contract(args.chaincode)
        submitted = contract.submit_async(args.function, args.args, transient, args.endorsing_orgs or None,
                                          init=args.init)
        status = submitted.get_status()
    if not status.successful:
        raise CommitError(status.transaction_id, status.code, status.code_name)
    _print_result(submitted.result)
    print(f"committed in block {status.block_number} (tx {status.transaction_id})", file=sys.stderr, flush=True)
    return 0


def run_events(args: argparse.Namespace) -> int:
    checkpointer = FileCheckpointer(args.checkpoint) if args.checkpoint else None
    with _gateway(args) as gateway:
        network = gateway.get_network(args.channel)
        if args.chaincode:
            events = network.get_chaincode_events(args.chaincode, args.start, checkpointer, args.timeout)
            _follow(events, event_line, checkpointer.checkpoint_chaincode_event if checkpointer else None, args.limit)
        else:
            stream = network.get_block_events(args.start, checkpointer, args.timeout)
            save = (lambda block: checkpointer.checkpoint_block(int(block.header.number))) if checkpointer else None
            _follow(stream, block_line, save, args.limit)
    return 0


T = TypeVar("T")


def _follow(stream: EventStream[T], line: Callable[[T], str], save: Callable[[T], None] | None,
            limit: int | None) -> None:
    """Print each item of the stream (saving progress after it) until `limit` items."""
    with stream:
        for count, item in enumerate(stream, start=1):
            print(line(item), flush=True)
            if save is not None:
                save(item)
            if limit and count >= limit:
                break
