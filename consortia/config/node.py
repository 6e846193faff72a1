"""Configuration of one node process (`consortia orderer|peer start --config FILE`).

    msp_id: OrdererMSP
    msp_dir: crypto-config/ordererOrganizations/.../orderers/orderer0.../msp
    listen: 127.0.0.1:7050          # Broadcast and Deliver (peers: Endorser, Gateway, Deliver)
    admin_listen: 127.0.0.1:7051    # the Admin service (join, list, remove channels)
    data_dir: data/orderer0
    tls:
      enabled: false
      cert: .../tls/server.crt
      key: .../tls/server.key
      root_cert: .../tls/ca.crt     # the CA of cert (peers: launched chaincode checks the peer with it)
      client_auth: false            # mutual TLS: clients must present a certificate
      client_root_cas: [.../tls/ca.crt]
    cpus: [1]                       # Linux: this process's CPUs (default: any; see consortia.cpus)
    chaincode_cpus: [0]             # peers: the CPUs of the chaincode processes it launches
                                    #   (default: the peer's own)

Paths are relative to the file. `load_orderer_config` validates everything up front,
so a node refuses to start on a mistake instead of failing later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from consortia import cpus as cpu_sets
from consortia.config.schema import Duration, Problems, load
from consortia.errors import PolicySyntaxError
from consortia.policy import parse_signature_policy

_ADDRESS = re.compile(r"^(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})$")


def split_address(address: str) -> tuple[str, int]:
    """'host:port' -> (host, port); ValueError naming the problem."""
    match = _ADDRESS.match(address)
    if not match or not 0 < int(match.group("port")) < 65536:
        raise ValueError(f"expected host:port with a port from 1 to 65535, found {address!r}")
    return match.group("host"), int(match.group("port"))


@dataclass(frozen=True)
class TLSSettings:
    enabled: bool = False
    cert: Path | None = None
    key: Path | None = None
    root_cert: Path | None = None
    client_auth: bool = False
    client_root_cas: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class NodeConfig:
    """What every node is told: who it is, where it listens, where it keeps data."""

    msp_id: str
    msp_dir: Path
    listen: str
    admin_listen: str
    data_dir: Path
    tls: TLSSettings = field(default_factory=TLSSettings)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # How far a request's timestamp may be from this node's clock.
    time_window: Duration = Duration(15 * 60 * 1000)
    # The CPUs the node's process runs on, every thread of it (Linux); empty: wherever
    # the kernel puts them. `network up` sets it (consortia.cpus says why).
    cpus: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class OrdererNodeConfig(NodeConfig):
    pass


@dataclass(frozen=True)
class ChaincodeDeployment:
    """A chaincode this peer runs for some channels (until definitions come from the
    lifecycle, this is also where its endorsement policy comes from)."""

    name: str
    channels: list[str]
    version: str = "1.0"
    # A contract package folder: the peer runs `python -m chaincode serve` on it.
    path: Path | None = None
    # Or chaincode-as-a-service: the peer connects to it here.
    address: str | None = None
    # With neither, the chaincode is started by someone else and dials the peer's
    # chaincode listener itself (Fabric's development mode, or a Node chaincode run
    # with `fabric-chaincode-node start`).
    # Default: the channel's Endorsement policy.
    endorsement_policy: str | None = None
    # Chaincode-as-a-service over TLS: the CA of the service's certificate. The peer
    # presents its own TLS certificate (for a service that requires mutual TLS).
    tls_root_cert: Path | None = None


@dataclass(frozen=True)
class GatewaySettings:
    # Longest wait for one endorsement from another peer.
    endorsement_timeout: Duration = Duration(30_000)
    # Longest wait for an orderer to take a submitted transaction.
    broadcast_timeout: Duration = Duration(30_000)


@dataclass(frozen=True)
class PeerNodeConfig(NodeConfig):
    # Where other nodes reach this peer, as channel configurations list it; the gateway
    # recognises itself by it (default: listen).
    external_address: str | None = None
    gateway: GatewaySettings = field(default_factory=GatewaySettings)
    # Longest wait between attempts to reach an orderer when pulling blocks.
    max_pull_backoff: Duration = Duration(5000)
    # Where chaincode processes the peer launches connect to (ChaincodeSupport).
    chaincode_listen: str | None = None
    chaincodes: list[ChaincodeDeployment] = field(default_factory=list)
    # How long one chaincode invocation may take.
    execute_timeout: Duration = Duration(30_000)
    # The CPUs of the chaincode processes the peer launches; empty: the peer's own.
    chaincode_cpus: list[int] = field(default_factory=list)
    # Proposals whose timestamp is further than this from the peer's clock are refused
    # (chaincode reads time from the proposal); 0 switches the check off.
    proposal_time_window: Duration = Duration(15 * 60 * 1000)


def chaincode_log_dir(data_dir: Path) -> Path:
    """Where a peer with data directory `data_dir` writes the output of the chaincode
    processes it launches, a log each (`consortia network logs --chaincode` reads them)."""
    return data_dir / "chaincode"


def _check_tls(tls: TLSSettings, problems: Problems) -> None:
    if not tls.enabled:
        return
    for name in ("cert", "key"):
        path = getattr(tls, name)
        if path is None:
            problems.add(f"tls.{name}", "is required when TLS is enabled")
        elif not path.is_file():
            problems.add(f"tls.{name}", f"file {path} does not exist")
    if tls.root_cert is not None and not tls.root_cert.is_file():
        problems.add("tls.root_cert", f"file {tls.root_cert} does not exist")
    if tls.client_auth and not tls.client_root_cas:
        problems.add("tls.client_root_cas", "mutual TLS needs at least one client root CA file")
    for index, path in enumerate(tls.client_root_cas):
        if not path.is_file():
            problems.add(f"tls.client_root_cas[{index}]", f"file {path} does not exist")


def _check_address(address: str, field_path: str, problems: Problems) -> tuple[str, int] | None:
    """`split_address`, reporting a bad address as a problem of `field_path`."""
    try:
        return split_address(address)
    except ValueError as exc:
        problems.add(field_path, str(exc))
        return None


def _check_common(config: NodeConfig, problems: Problems) -> None:
    addresses = {}
    for name in ("listen", "admin_listen"):
        if (address := _check_address(getattr(config, name), name, problems)) is not None:
            addresses[name] = address
    if len(set(addresses.values())) < len(addresses):
        problems.add("admin_listen", "must differ from listen")
    if not (config.msp_dir / "signcerts").is_dir():
        problems.add("msp_dir", f"{config.msp_dir} is not an MSP folder with signcerts/ (run consortia crypto generate)")
    _check_tls(config.tls, problems)
    _check_cpus(config.cpus, "cpus", problems)


def _check_cpus(cpus: list[int], field_path: str, problems: Problems) -> None:
    """CPUs this machine lets the node use, each once."""
    if not cpus:
        return
    if not cpu_sets.supported():
        problems.add(field_path, "choosing CPUs needs Linux; leave it out on this platform")
        return
    if len(set(cpus)) < len(cpus):
        problems.add(field_path, f"lists a CPU twice: {cpus}")
    usable = cpu_sets.available()
    missing = sorted(set(cpus) - set(usable))
    if missing:
        problems.add(field_path, f"CPU {cpu_sets.describe(missing)} not available to this process "
                                 f"(it may use {cpu_sets.describe(usable)})")


def load_orderer_config(path: str | Path) -> OrdererNodeConfig:
    config, _ = load(path, OrdererNodeConfig, _check_common)
    return config


def _check_peer(config: PeerNodeConfig, problems: Problems) -> None:
    _check_common(config, problems)
    _check_cpus(config.chaincode_cpus, "chaincode_cpus", problems)
    if config.external_address is not None:
        _check_address(config.external_address, "external_address", problems)
    if config.chaincode_listen is not None:
        _check_address(config.chaincode_listen, "chaincode_listen", problems)
    names: set[tuple[str, str]] = set()
    for index, cc in enumerate(config.chaincodes):
        where = f"chaincodes[{index}]"
        if cc.path is not None and cc.address is not None:
            problems.add(where, f"chaincode {cc.name!r} has both path (a package the peer runs) and address "
                                "(chaincode-as-a-service); give one, or neither for a chaincode that dials in")
        if cc.path is None and cc.address is None and config.chaincode_listen is None:
            problems.add("chaincode_listen", f"chaincode {cc.name!r} dials in, so the peer needs a chaincode_listen address")
        if cc.path is not None:
            if not cc.path.is_dir():
                problems.add(f"{where}.path", f"chaincode folder {cc.path} does not exist")
            if config.chaincode_listen is None:
                problems.add("chaincode_listen", f"chaincode {cc.name!r} is launched by the peer, which then needs "
                                                 "a chaincode_listen address for it to connect to")
            if config.tls.enabled and config.tls.root_cert is None:
                problems.add("tls.root_cert", f"chaincode {cc.name!r} is launched by the peer and must verify the "
                                              "peer's TLS certificate: give the CA that signed it")
        if cc.address is not None:
            _check_address(cc.address, f"{where}.address", problems)
        if cc.tls_root_cert is not None:
            if cc.address is None:
                problems.add(f"{where}.tls_root_cert", "only a chaincode-as-a-service (address) is dialled over TLS")
            elif not cc.tls_root_cert.is_file():
                problems.add(f"{where}.tls_root_cert", f"file {cc.tls_root_cert} does not exist")
            if not config.tls.enabled:
                problems.add(f"{where}.tls_root_cert", "the peer needs TLS enabled (its certificate) to dial over TLS")
        if not cc.channels:
            problems.add(f"{where}.channels", "name at least one channel")
        for channel in cc.channels:
            if (cc.name, channel) in names:
                problems.add(where, f"chaincode {cc.name!r} is listed twice for channel {channel!r}")
            names.add((cc.name, channel))
        if cc.endorsement_policy is not None:
            try:
                parse_signature_policy(cc.endorsement_policy)
            except PolicySyntaxError as exc:
                problems.add(f"{where}.endorsement_policy", f"{exc.message} at column {exc.position + 1}")


def load_peer_config(path: str | Path) -> PeerNodeConfig:
    config, _ = load(path, PeerNodeConfig, _check_peer)
    return config
