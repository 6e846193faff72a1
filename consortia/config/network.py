"""The network definition: one YAML file describing a whole Consortia network.

    name: carbon-market
    base_port: 7050            # every node's ports derive from here
    tls: true                  # TLS on every node (the default, as in Fabric's test network)
    organizations:
      - name: MEE
        msp_id: MEEMSP
        domain: mee.carbon.example.com
        peers: [{name: peer0}]
        users: [{name: Regulator, attributes: {role: regulator}}]
    orderer: {name: Orderer, msp_id: OrdererMSP, domain: orderer.carbon.example.com}
    consensus: {type: solo, batch: {max_message_count: 500, timeout: 2s}}
    channels:
      - name: trading
        organizations: [MEEMSP, RegistryMSP]
        endorsement_policy: "AND('RegistryMSP.peer', 'MEEMSP.peer')"

`tls` applies to every node `consortia network up` starts: each serves with the TLS
certificate of its `tls/` folder (server authentication only; clients trust the
org's TLS CA), and `false` runs the whole network in plaintext.
`cpu_placement: spread` (the default) has `network up` give each node's process a CPU of
this machine, in turn, and a peer's chaincode processes the next one (consortia.cpus
says why); `none` leaves every process to the kernel's placement.
`proposal_time_window` (default 15m) is how far from its clock a peer accepts a
proposal's timestamp; `0` switches the check off, for replaying dated scenarios.

Everything a small network need not say has a default. `load_network` returns the
validated definition or raises ConfigError listing every problem with its line.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from fabric_protos.peer import collection_pb2

from consortia.config.schema import ByteSize, Duration, Problems, load
from consortia.errors import PolicySyntaxError
from consortia.lifecycle.collections import CollectionError, check_collections, parse_collections_json
from consortia.policy import ImplicitMeta, parse_policy, principals_of

ORG_POLICY_NAMES = ("Readers", "Writers", "Admins", "Endorsement")
PORTS_PER_NODE = 10
MAX_GRPC_MESSAGE = 100 * 1024 * 1024

_NETWORK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_MSP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
_ORG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?)*$")
_NODE_NAME = re.compile(r"^[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?$")
_USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
CHANNEL_NAME = re.compile(r"^[a-z][a-z0-9.\-]{0,248}$")  # Fabric's channel-name rule
_CHAINCODE = re.compile(r"^[a-zA-Z0-9]+([\-_][a-zA-Z0-9]+)*$")  # Fabric's chaincode-name rule
_VERSION = re.compile(r"^[A-Za-z0-9_.+\-]+$")


@dataclass(frozen=True)
class User:
    name: str
    # Enrolment attributes put in the certificate (Fabric CA's extension), e.g. role.
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Peer:
    name: str = "peer0"
    # Listen port; by default derived from the network's base_port.
    port: int | None = None


@dataclass(frozen=True)
class Organization:
    name: str
    msp_id: str
    domain: str
    peers: list[Peer] = field(default_factory=lambda: [Peer()])
    users: list[User] = field(default_factory=lambda: [User(name="User1")])


@dataclass(frozen=True)
class OrdererNode:
    name: str = "orderer0"
    port: int | None = None


@dataclass(frozen=True)
class OrdererOrganization:
    name: str = "Orderer"
    msp_id: str = "OrdererMSP"
    domain: str = "orderer.example.com"
    nodes: list[OrdererNode] = field(default_factory=lambda: [OrdererNode()])


@dataclass(frozen=True)
class Batch:
    """Block cutting, with Fabric's meaning and Fabric's defaults."""

    max_message_count: int = 500
    absolute_max_bytes: ByteSize = ByteSize(10 * 1024 * 1024)
    preferred_max_bytes: ByteSize = ByteSize(2 * 1024 * 1024)
    timeout: Duration = Duration(2000)


@dataclass(frozen=True)
class Consensus:
    type: Literal["solo", "raft"] = "solo"
    batch: Batch = field(default_factory=Batch)


@dataclass(frozen=True)
class ChaincodeInit:
    """A transaction `network up` submits once, after it first commits the chaincode's
    definition (as Fabric's test network's `deployCC -cci`): for a contract whose rules
    hang on records someone must create first, such as the anchors of key-level policies.
    `user` is ORG/USER of this file (an organization's name or MSP id; Admin for its
    administrator); with `init_required` the call is the chaincode's initialization."""

    function: str
    user: str
    args: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Chaincode:
    name: str
    # Folder of the contract package, relative to this file.
    path: Path
    version: str = "1.0"
    sequence: int = 1
    # Default: the channel's endorsement_policy.
    endorsement_policy: str | None = None
    init_required: bool = False
    # Private data collections: a JSON file in the shape Fabric's --collections-config
    # reads, relative to this file.
    collections_config: Path | None = None
    init: ChaincodeInit | None = None

    def collections(self) -> collection_pb2.CollectionConfigPackage | None:
        """The collections of the definition (CollectionError if the file is unusable)."""
        if self.collections_config is None:
            return None
        try:
            text = self.collections_config.read_text()
        except OSError as exc:
            raise CollectionError(f"cannot read {self.collections_config}: {exc.strerror or exc}") from exc
        return parse_collections_json(text, str(self.collections_config))


@dataclass(frozen=True)
class Channel:
    name: str
    # MSP ids of the member organizations.
    organizations: list[str]
    # /Channel/Application/Endorsement: the default policy of chaincodes.
    endorsement_policy: str = "MAJORITY Endorsement"
    # Who must approve a chaincode definition before it can be committed.
    lifecycle_endorsement_policy: str = "MAJORITY Endorsement"
    readers_policy: str = "ANY Readers"
    writers_policy: str = "ANY Writers"
    admins_policy: str = "MAJORITY Admins"
    chaincodes: list[Chaincode] = field(default_factory=list)

    def policies(self) -> dict[str, str]:
        """The channel's /Channel/Application policies by name."""
        return {
            "Readers": self.readers_policy,
            "Writers": self.writers_policy,
            "Admins": self.admins_policy,
            "Endorsement": self.endorsement_policy,
            "LifecycleEndorsement": self.lifecycle_endorsement_policy,
        }


@dataclass(frozen=True)
class NodePorts:
    """Where one node listens."""

    listen: int
    admin: int
    # Peers: the chaincode listener; orderers: the cluster (Raft) listener.
    extra: int
    operations: int


@dataclass(frozen=True)
class Network:
    name: str
    organizations: list[Organization]
    base_port: int = 7050
    host: str = "127.0.0.1"
    # TLS on every node (server certificates from the crypto material; no client auth).
    tls: bool = True
    # How far a proposal's timestamp may be from an endorsing peer's clock (chaincode
    # reads time from it); 0 switches the check off, to replay dated scenarios.
    proposal_time_window: Duration = Duration(15 * 60 * 1000)
    # How `network up` places the processes on this machine's CPUs (consortia.cpus).
    cpu_placement: Literal["spread", "none"] = "spread"
    orderer: OrdererOrganization = field(default_factory=OrdererOrganization)
    consensus: Consensus = field(default_factory=Consensus)
    channels: list[Channel] = field(default_factory=list)

    def organization(self, msp_id: str) -> Organization:
        for org in self.organizations:
            if org.msp_id == msp_id:
                return org
        raise KeyError(msp_id)

    def find_organization(self, name: str) -> Organization | None:
        """The organization called `name` in this file, or whose MSP id it is."""
        return next((org for org in self.organizations if name in (org.name, org.msp_id)), None)

    def channel(self, name: str) -> Channel:
        for channel in self.channels:
            if channel.name == name:
                return channel
        raise KeyError(name)

    def node_ports(self) -> dict[tuple[str, str], NodePorts]:
        """Ports of every node, keyed by (MSP id, node name): orderers first, then peers.

        The node at position k (orderers first, then each org's peers in order) takes
        the block of ten ports at `base_port + 10 * k` (listen, admin, chaincode or
        cluster, operations), unless it sets `port`: then it takes `port` and the three
        after it, and its block stays unused. Two networks whose base ports are far
        enough apart never collide.
        """
        nodes: list[tuple[str, str, int | None]] = [
            (self.orderer.msp_id, n.name, n.port) for n in self.orderer.nodes
        ]
        nodes += [(org.msp_id, p.name, p.port) for org in self.organizations for p in org.peers]
        ports = {}
        for index, (msp_id, name, explicit) in enumerate(nodes):
            start = explicit if explicit is not None else self.base_port + PORTS_PER_NODE * index
            ports[(msp_id, name)] = NodePorts(listen=start, admin=start + 1, extra=start + 2, operations=start + 3)
        return ports


def load_network(path: str | Path, *, text: str | None = None) -> Network:
    """Load and validate a network definition (ConfigError lists every problem)."""
    network, _ = load(path, Network, validate_network, text=text)
    return network


def validate_network(net: Network, problems: Problems) -> None:
    """The checks a schema cannot express: names, references, policies, ports."""
    if not _NETWORK_NAME.match(net.name):
        problems.add("name", f"{net.name!r} is not a valid network name: letters, digits, '.', '_', '-'")
    _check_host(net, problems)
    msp_ids = _check_organizations(net, problems)
    _check_consensus(net, problems)
    _check_channels(net, msp_ids, problems)
    _check_ports(net, problems)


def _check_host(net: Network, problems: Problems) -> None:
    try:
        ipaddress.ip_address(net.host)
    except ValueError:
        if not _DOMAIN.match(net.host):
            problems.add("host", f"{net.host!r} is neither an IP address nor a host name")


def _check_unique(values: list[str], path: str, what: str, problems: Problems) -> None:
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            problems.add(f"{path}[{index}]", f"{what} {value!r} is defined twice")
        seen.add(value)


def _check_organizations(net: Network, problems: Problems) -> set[str]:
    if not net.organizations:
        problems.add("organizations", "a network needs at least one organization")
    for i, org in enumerate(net.organizations):
        path = f"organizations[{i}]"
        if not _ORG_NAME.match(org.name):
            problems.add(f"{path}.name", f"{org.name!r} is not a valid org name: start with a letter; letters, digits, '-', '_'")
        if not _MSP_ID.match(org.msp_id):
            problems.add(f"{path}.msp_id", f"{org.msp_id!r} is not a valid MSP id: letters, digits, '.' and '-'")
        if not _DOMAIN.match(org.domain):
            problems.add(f"{path}.domain", f"{org.domain!r} is not a valid lower-case domain name")
        for j, peer in enumerate(org.peers):
            if not _NODE_NAME.match(peer.name):
                problems.add(f"{path}.peers[{j}].name", f"{peer.name!r} is not a valid node name: lower-case letters, digits, '-'")
        _check_unique([p.name for p in org.peers], f"{path}.peers", "peer", problems)
        for j, user in enumerate(org.users):
            upath = f"{path}.users[{j}]"
            if not _USER_NAME.match(user.name):
                problems.add(f"{upath}.name", f"{user.name!r} is not a valid user name: letters, digits, '.', '_', '-'")
            elif user.name.lower() == "admin":
                problems.add(f"{upath}.name", "'Admin' is made for every organization; choose another user name")
            for key in user.attributes:
                if not re.match(r"^[A-Za-z][A-Za-z0-9_.\-]*$", key):
                    problems.add(f"{upath}.attributes.{key}", "attribute names start with a letter; letters, digits, '_', '.', '-'")
        _check_unique([u.name for u in org.users], f"{path}.users", "user", problems)
    orderer = net.orderer
    if not _ORG_NAME.match(orderer.name):
        problems.add("orderer.name", f"{orderer.name!r} is not a valid org name")
    if not _MSP_ID.match(orderer.msp_id):
        problems.add("orderer.msp_id", f"{orderer.msp_id!r} is not a valid MSP id")
    if not _DOMAIN.match(orderer.domain):
        problems.add("orderer.domain", f"{orderer.domain!r} is not a valid lower-case domain name")
    if not orderer.nodes:
        problems.add("orderer.nodes", "the ordering service needs at least one node")
    for j, node in enumerate(orderer.nodes):
        if not _NODE_NAME.match(node.name):
            problems.add(f"orderer.nodes[{j}].name", f"{node.name!r} is not a valid node name")
    _check_unique([n.name for n in orderer.nodes], "orderer.nodes", "orderer node", problems)
    _check_unique([o.msp_id for o in net.organizations], "organizations", "MSP id", problems)
    _check_unique([o.name for o in net.organizations], "organizations", "org name", problems)
    _check_unique([o.domain for o in net.organizations], "organizations", "domain", problems)
    if orderer.msp_id in {o.msp_id for o in net.organizations}:
        problems.add("orderer.msp_id", f"MSP id {orderer.msp_id!r} is already used by a peer organization")
    if orderer.domain in {o.domain for o in net.organizations}:
        problems.add("orderer.domain", f"domain {orderer.domain!r} is already used by a peer organization")
    return {o.msp_id for o in net.organizations}


def _check_consensus(net: Network, problems: Problems) -> None:
    consensus = net.consensus
    if consensus.type == "solo" and len(net.orderer.nodes) != 1:
        problems.add("orderer.nodes", f"solo consensus runs exactly one orderer; found {len(net.orderer.nodes)}")
    if consensus.type == "raft":
        problems.add("consensus.type", "raft consensus is not available yet; use solo")
    batch = consensus.batch
    if batch.max_message_count < 1:
        problems.add("consensus.batch.max_message_count", f"must be at least 1, found {batch.max_message_count}")
    if not 0 < batch.absolute_max_bytes <= MAX_GRPC_MESSAGE:
        problems.add("consensus.batch.absolute_max_bytes", f"must be between 1 byte and 100 MB, found {batch.absolute_max_bytes}")
    if not 0 < batch.preferred_max_bytes <= batch.absolute_max_bytes:
        problems.add(
            "consensus.batch.preferred_max_bytes",
            f"must be between 1 byte and absolute_max_bytes ({batch.absolute_max_bytes}), found {batch.preferred_max_bytes}",
        )
    if batch.timeout < 1:
        problems.add("consensus.batch.timeout", "must be at least 1ms")


def _check_channels(net: Network, msp_ids: set[str], problems: Problems) -> None:
    _check_unique([c.name for c in net.channels], "channels", "channel", problems)
    peer_orgs = {o.msp_id for o in net.organizations if o.peers}
    for i, channel in enumerate(net.channels):
        path = f"channels[{i}]"
        if not CHANNEL_NAME.match(channel.name):
            problems.add(f"{path}.name", f"{channel.name!r} is not a valid channel name: lower-case letters, digits, '.', '-', starting with a letter")
        if not channel.organizations:
            problems.add(f"{path}.organizations", "a channel needs at least one member organization")
        for j, msp_id in enumerate(channel.organizations):
            if msp_id not in msp_ids:
                problems.add(f"{path}.organizations[{j}]", f"unknown org {msp_id!r}{_suggest(msp_id, msp_ids)}")
        _check_unique(channel.organizations, f"{path}.organizations", "member", problems)
        members = set(channel.organizations)
        if channel.organizations and not members & peer_orgs:
            problems.add(f"{path}.organizations", "no member organization has a peer to hold the channel's ledger")
        for name, key in (
            ("endorsement_policy", "endorsement_policy"),
            ("lifecycle_endorsement_policy", "lifecycle_endorsement_policy"),
            ("readers_policy", "readers_policy"),
            ("writers_policy", "writers_policy"),
            ("admins_policy", "admins_policy"),
        ):
            _check_policy(getattr(channel, name), f"{path}.{key}", channel, msp_ids, problems)
        _check_unique([c.name for c in channel.chaincodes], f"{path}.chaincodes", "chaincode", problems)
        for j, cc in enumerate(channel.chaincodes):
            cpath = f"{path}.chaincodes[{j}]"
            if not _CHAINCODE.match(cc.name):
                problems.add(f"{cpath}.name", f"{cc.name!r} is not a valid chaincode name: letters and digits, joined by single '-' or '_'")
            if not _VERSION.match(cc.version):
                problems.add(f"{cpath}.version", f"{cc.version!r} is not a valid version: letters, digits, '.', '_', '+', '-'")
            if cc.sequence < 1:
                problems.add(f"{cpath}.sequence", f"must be at least 1, found {cc.sequence}")
            if not cc.path.is_dir():
                problems.add(f"{cpath}.path", f"chaincode folder {cc.path} does not exist")
            if cc.endorsement_policy is not None:
                _check_policy(cc.endorsement_policy, f"{cpath}.endorsement_policy", channel, msp_ids, problems, meta=False)
            try:
                package = cc.collections()
                if package is not None:
                    check_collections(package, channel.organizations)
            except CollectionError as exc:
                problems.add(f"{cpath}.collections_config", str(exc))
            if cc.init is not None:
                _check_init_user(net, channel, cc.init, f"{cpath}.init.user", problems)


def _check_init_user(net: Network, channel: Channel, init: ChaincodeInit, path: str, problems: Problems) -> None:
    org_name, slash, user = init.user.partition("/")
    org = net.find_organization(org_name)
    if not slash or org is None:
        names = ", ".join(o.name for o in net.organizations)
        problems.add(path, f"expected ORG/USER with one of the organizations {names}, found {init.user!r}")
    elif user not in (users := ["Admin", *(u.name for u in org.users)]):
        problems.add(path, f"organization {org.name} has no user {user!r}; its users are {', '.join(users)}")
    elif org.msp_id not in channel.organizations:
        problems.add(path, f"organization {org.name} is not a member of channel {channel.name!r}")


def _check_policy(
    text: str, path: str, channel: Channel, msp_ids: set[str], problems: Problems, *, meta: bool = True
) -> None:
    try:
        policy = parse_policy(text)
    except PolicySyntaxError as exc:
        problems.add(path, f"{exc.message} at column {exc.position + 1} of {text!r}")
        return
    if isinstance(policy, ImplicitMeta):
        if not meta:
            problems.add(path, f"{text!r}: a chaincode endorsement policy must be a signature policy such as AND('A.peer', 'B.peer')")
        elif policy.sub_policy not in ORG_POLICY_NAMES:
            problems.add(path, f"unknown sub-policy {policy.sub_policy!r}: organizations have {', '.join(ORG_POLICY_NAMES)}")
        return
    members = set(channel.organizations)
    for principal in dict.fromkeys(principals_of(policy)):
        if principal.msp_id not in msp_ids:
            problems.add(path, f"unknown org {principal.msp_id!r}{_suggest(principal.msp_id, msp_ids)}")
        elif principal.msp_id not in members:
            problems.add(path, f"org {principal.msp_id!r} is not a member of channel {channel.name!r}")


def _suggest(value: str, known: set[str]) -> str:
    close = difflib.get_close_matches(value, sorted(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def _check_ports(net: Network, problems: Problems) -> None:
    if not 1024 <= net.base_port <= 65535 - 3:
        problems.add("base_port", f"must be between 1024 and 65532, found {net.base_port}")
        return
    owners: dict[int, str] = {}
    paths = {(net.orderer.msp_id, n.name): f"orderer.nodes[{j}]" for j, n in enumerate(net.orderer.nodes)}
    for i, org in enumerate(net.organizations):
        for j, peer in enumerate(org.peers):
            paths[(org.msp_id, peer.name)] = f"organizations[{i}].peers[{j}]"
    for key, ports in net.node_ports().items():
        path = paths.get(key, "")
        label = f"{key[1]} of {key[0]}"
        if not 1024 <= ports.listen <= 65535 - 3:
            problems.add(f"{path}.port", f"{label} would listen on {ports.listen}; ports must lie between 1024 and 65532")
            continue
        for port in (ports.listen, ports.admin, ports.extra, ports.operations):
            if port in owners and owners[port] != label:
                problems.add(f"{path}.port", f"{label} needs port {port}, which {owners[port]} already uses")
                break
            owners[port] = label
