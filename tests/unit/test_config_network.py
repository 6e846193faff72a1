"""The network definition: the shipped files, the defaults, ports, and every check.

`load_network` reads one YAML file describing a whole network and refuses it with
every problem it has, each as `FILE:LINE path: message`. The invalid definitions
below are each one edit away from a small valid one (`VALID`), so each test shows a
single rule; the expected line is found in the edited text, where the mistake is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from consortia.config.network import (
    Batch,
    ChaincodeInit,
    Network,
    NodePorts,
    OrdererNode,
    Organization,
    Peer,
    User,
    load_network,
)
from consortia.config.schema import ByteSize, Duration
from consortia.errors import ConfigError
from tests.conftest import REPO

pytestmark = pytest.mark.unit

SHIPPED = REPO / "network-config"

CARBON_MSP_IDS = [
    "MEEMSP",
    "ProvGDMSP",
    "ProvSDMSP",
    "StatsMSP",
    "EnergyMSP",
    "EmitterMSP",
    "VerifierMSP",
    "RegistryMSP",
    "ExchangeMSP",
    "BankMSP",
    "AuditMSP",
]

VALID = """\
name: test
base_port: 9050
organizations:
  - name: Registry
    msp_id: RegistryMSP
    domain: registry.example.com
    users:
      - name: Operator
        attributes: {role: operator}
  - name: Exchange
    msp_id: ExchangeMSP
    domain: exchange.example.com
  - name: Audit
    msp_id: AuditMSP
    domain: audit.example.com
    peers: []
orderer:
  name: Orderer
  msp_id: OrdererMSP
  domain: orderer.example.com
channels:
  - name: trading
    organizations: [RegistryMSP, ExchangeMSP]
    endorsement_policy: "AND('RegistryMSP.peer', 'ExchangeMSP.peer')"
"""

# Lines of VALID after which tests insert what they need.
EXCHANGE = "    domain: exchange.example.com\n"
AUDIT = "    domain: audit.example.com\n"
ORDERER = "  domain: orderer.example.com\n"

CHAINCODE = """\
    chaincodes:
      - name: trading
        path: contracts/trading
        version: "1.0"
"""


def edit(text: str, old: str, new: str) -> str:
    """`text` with its one occurrence of `old` replaced (fails loudly if there is none)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def line(text: str, fragment: str, occurrence: int = 1) -> int:
    """1-based number of the line holding the `occurrence`-th `fragment`."""
    found = [number for number, content in enumerate(text.splitlines(), 1) if fragment in content]
    assert len(found) >= occurrence, f"{fragment!r} not found {occurrence} times"
    return found[occurrence - 1]


@pytest.fixture
def net_file(tmp_path: Path) -> Path:
    """Where the network file 'lives': relative chaincode paths resolve beside it."""
    (tmp_path / "contracts" / "trading").mkdir(parents=True)
    return tmp_path / "net.yaml"


def problems(net_file: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_network(net_file, text=text)
    return info.value.problems


def expect(net_file: Path, text: str, where: int, path: str, message: str) -> None:
    """The file has exactly one problem: `message` about `path` on line `where`."""
    assert problems(net_file, text) == [f"{net_file}:{where} {path}: {message}"]


# --- the shipped files --------------------------------------------------------------


@pytest.mark.parametrize("name", ["carbon-market", "minimal", "two-orgs"])
def test_shipped_network_loads(name: str) -> None:
    network = load_network(SHIPPED / f"{name}.yaml")
    assert network.name == name
    assert network.organizations and network.channels


def test_carbon_market_has_the_eleven_domain_organizations() -> None:
    network = load_network(SHIPPED / "carbon-market.yaml")
    assert [o.msp_id for o in network.organizations] == CARBON_MSP_IDS
    assert len({o.domain for o in network.organizations}) == 11
    assert network.orderer.msp_id == "OrdererMSP"
    assert network.orderer.domain == "orderer.carbon.example"


def test_carbon_market_channels_and_members() -> None:
    network = load_network(SHIPPED / "carbon-market.yaml")
    assert [c.name for c in network.channels] == ["data-sharing", "trading"]
    assert network.channel("data-sharing").organizations == [
        "MEEMSP", "ProvGDMSP", "ProvSDMSP", "StatsMSP", "EnergyMSP", "EmitterMSP", "VerifierMSP", "AuditMSP",
    ]
    assert network.channel("trading").organizations == [
        "MEEMSP", "ProvGDMSP", "ProvSDMSP", "EmitterMSP", "RegistryMSP", "ExchangeMSP", "BankMSP", "AuditMSP",
    ]
    trading = network.channel("trading")
    assert "RegistryMSP.peer" in trading.endorsement_policy
    assert trading.lifecycle_endorsement_policy == "MAJORITY Endorsement"
    with pytest.raises(KeyError):
        network.channel("no-such-channel")


def test_carbon_market_auditors_run_no_peer() -> None:
    network = load_network(SHIPPED / "carbon-market.yaml")
    assert network.organization("AuditMSP").peers == []
    others = [o for o in network.organizations if o.msp_id != "AuditMSP"]
    assert all(o.peers == [Peer(name="peer0")] for o in others)
    assert all(key[0] != "AuditMSP" for key in network.node_ports())


def test_carbon_market_emitters_carry_entity_and_province() -> None:
    network = load_network(SHIPPED / "carbon-market.yaml")
    emitters = network.organization("EmitterMSP").users
    assert [u.name for u in emitters] == [f"E{i}" for i in range(1, 8)]
    for user in emitters:
        assert user.attributes["role"] == "emitter"
        assert user.attributes["entity_id"] == user.name
        assert user.attributes["province"] in {"GD", "SD"}
    assert emitters[3] == User(name="E4", attributes={"role": "emitter", "entity_id": "E4", "province": "SD"})


def test_carbon_market_batch_has_fabrics_sizes_and_a_short_timeout() -> None:
    """Fabric's size limits; a 500 ms timeout, since a light-traffic network otherwise
    waits 2 s for every block. It replays dated scenarios, so it accepts any proposal time."""
    network = load_network(SHIPPED / "carbon-market.yaml")
    assert network.consensus.batch == Batch(
        max_message_count=500,
        absolute_max_bytes=ByteSize(10 * 1024**2),
        preferred_max_bytes=ByteSize(2 * 1024**2),
        timeout=Duration(500),
    )
    assert network.proposal_time_window == 0


def test_shipped_networks_use_disjoint_port_ranges() -> None:
    ranges = {}
    for name in ("carbon-market", "minimal", "two-orgs"):
        network = load_network(SHIPPED / f"{name}.yaml")
        used = [port for p in network.node_ports().values() for port in (p.listen, p.admin, p.extra, p.operations)]
        assert len(used) == len(set(used)), f"{name} uses a port twice"
        ranges[name] = (min(used), max(used))
    spans = sorted(ranges.values())
    for (_, high), (low, _) in zip(spans, spans[1:]):
        assert high < low, f"port ranges overlap: {ranges}"


# --- defaults and ports -------------------------------------------------------------


def test_defaults(net_file: Path) -> None:
    network = load_network(net_file, text="name: tiny\norganizations:\n  - {name: Org1, msp_id: Org1MSP, domain: org1.test}\n")
    assert network.base_port == 7050
    assert network.host == "127.0.0.1"
    assert network.consensus.type == "solo"
    batch = network.consensus.batch
    assert (batch.max_message_count, batch.absolute_max_bytes, batch.preferred_max_bytes, batch.timeout) == (
        500, 10 * 1024 * 1024, 2 * 1024 * 1024, 2000,
    )
    assert network.orderer.nodes == [OrdererNode(name="orderer0", port=None)]
    assert (network.orderer.name, network.orderer.msp_id, network.orderer.domain) == (
        "Orderer", "OrdererMSP", "orderer.example.com",
    )
    assert network.organizations == [
        Organization(name="Org1", msp_id="Org1MSP", domain="org1.test", peers=[Peer("peer0")], users=[User("User1")])
    ]
    assert network.channels == []


def test_channel_policy_defaults(net_file: Path) -> None:
    text = edit(VALID, '    endorsement_policy: "AND(\'RegistryMSP.peer\', \'ExchangeMSP.peer\')"\n', "")
    channel = load_network(net_file, text=text).channel("trading")
    assert channel.policies() == {
        "Readers": "ANY Readers",
        "Writers": "ANY Writers",
        "Admins": "MAJORITY Admins",
        "Endorsement": "MAJORITY Endorsement",
        "LifecycleEndorsement": "MAJORITY Endorsement",
    }
    assert channel.chaincodes == []


def test_ports_orderers_first_then_peers_in_blocks_of_ten(net_file: Path) -> None:
    text = edit(VALID, ORDERER, ORDERER + "  nodes: [{name: orderer0}]\n")
    text = edit(text, EXCHANGE, EXCHANGE + "    peers: [{name: peer0}, {name: peer1}]\n")
    ports = load_network(net_file, text=text).node_ports()
    assert list(ports) == [
        ("OrdererMSP", "orderer0"),
        ("RegistryMSP", "peer0"),
        ("ExchangeMSP", "peer0"),
        ("ExchangeMSP", "peer1"),
    ]
    assert ports[("OrdererMSP", "orderer0")] == NodePorts(listen=9050, admin=9051, extra=9052, operations=9053)
    assert ports[("RegistryMSP", "peer0")] == NodePorts(listen=9060, admin=9061, extra=9062, operations=9063)
    assert ports[("ExchangeMSP", "peer0")].listen == 9070
    assert ports[("ExchangeMSP", "peer1")].listen == 9080


def test_explicit_port_is_honoured(net_file: Path) -> None:
    text = edit(VALID, EXCHANGE, EXCHANGE + "    peers: [{name: peer0, port: 12000}]\n")
    ports = load_network(net_file, text=text).node_ports()
    assert ports[("ExchangeMSP", "peer0")] == NodePorts(listen=12000, admin=12001, extra=12002, operations=12003)
    assert ports[("OrdererMSP", "orderer0")].listen == 9050
    assert ports[("RegistryMSP", "peer0")].listen == 9060


def test_ports_follow_base_port(net_file: Path) -> None:
    ports = load_network(net_file, text=edit(VALID, "base_port: 9050", "base_port: 20000")).node_ports()
    assert [p.listen for p in ports.values()] == [20000, 20010, 20020]


def test_valid_chaincode_path_resolves_beside_the_file(net_file: Path) -> None:
    network = load_network(net_file, text=VALID + CHAINCODE)
    (chaincode,) = network.channel("trading").chaincodes
    assert chaincode.path == (net_file.parent / "contracts" / "trading").resolve()
    assert (chaincode.version, chaincode.sequence, chaincode.endorsement_policy, chaincode.init_required) == (
        "1.0", 1, None, False,
    )


def test_valid_base_text_loads(net_file: Path) -> None:
    network = load_network(net_file, text=VALID)
    assert isinstance(network, Network)
    assert [o.msp_id for o in network.organizations] == ["RegistryMSP", "ExchangeMSP", "AuditMSP"]


# --- invalid definitions ------------------------------------------------------------


def test_unknown_org_in_policy_suggests_the_closest(net_file: Path) -> None:
    text = edit(VALID, "'ExchangeMSP.peer')", "'ExchangMSP.peer')")
    expect(net_file, text, line(text, "endorsement_policy"), "channels[0].endorsement_policy",
           "unknown org 'ExchangMSP'; did you mean 'ExchangeMSP'?")


def test_unknown_org_without_a_close_match_has_no_suggestion(net_file: Path) -> None:
    text = edit(VALID, "'ExchangeMSP.peer')", "'ZzzMSP.peer')")
    expect(net_file, text, line(text, "endorsement_policy"), "channels[0].endorsement_policy", "unknown org 'ZzzMSP'")


def test_org_in_policy_must_be_a_channel_member(net_file: Path) -> None:
    text = edit(VALID, "[RegistryMSP, ExchangeMSP]", "[RegistryMSP]")
    expect(net_file, text, line(text, "endorsement_policy"), "channels[0].endorsement_policy",
           "org 'ExchangeMSP' is not a member of channel 'trading'")


def test_org_in_a_non_endorsement_policy_must_be_a_member(net_file: Path) -> None:
    text = VALID + "    readers_policy: \"OR('AuditMSP.member')\"\n"
    expect(net_file, text, line(text, "readers_policy"), "channels[0].readers_policy",
           "org 'AuditMSP' is not a member of channel 'trading'")


def test_unknown_org_in_channel_organizations(net_file: Path) -> None:
    text = edit(VALID, "[RegistryMSP, ExchangeMSP]", "[RegistryMSP,\n                    ExchangeMSP, RegistyMSP]")
    expect(net_file, text, line(text, "RegistyMSP"), "channels[0].organizations[2]",
           "unknown org 'RegistyMSP'; did you mean 'RegistryMSP'?")


def test_duplicate_channel_member(net_file: Path) -> None:
    text = edit(VALID, "[RegistryMSP, ExchangeMSP]", "[RegistryMSP, ExchangeMSP, RegistryMSP]")
    expect(net_file, text, line(text, "organizations: [Reg"), "channels[0].organizations[2]",
           "member 'RegistryMSP' is defined twice")


def test_duplicate_msp_id(net_file: Path) -> None:
    text = edit(VALID, "msp_id: AuditMSP", "msp_id: RegistryMSP")
    expect(net_file, text, line(text, "- name: Audit"), "organizations[2]", "MSP id 'RegistryMSP' is defined twice")


def test_duplicate_org_name(net_file: Path) -> None:
    text = edit(VALID, "- name: Audit\n", "- name: Exchange\n")
    expect(net_file, text, line(text, "- name: Exchange", 2), "organizations[2]", "org name 'Exchange' is defined twice")


def test_duplicate_domain(net_file: Path) -> None:
    text = edit(VALID, "domain: audit.example.com", "domain: registry.example.com")
    expect(net_file, text, line(text, "- name: Audit"), "organizations[2]",
           "domain 'registry.example.com' is defined twice")


def test_duplicate_peer(net_file: Path) -> None:
    text = edit(VALID, EXCHANGE,
                EXCHANGE + "    peers:\n      - name: peer0\n      - name: peer0\n")
    expect(net_file, text, line(text, "- name: peer0", 2), "organizations[1].peers[1]", "peer 'peer0' is defined twice")


def test_duplicate_user(net_file: Path) -> None:
    text = edit(VALID, "        attributes: {role: operator}\n",
                "        attributes: {role: operator}\n      - name: Operator\n")
    expect(net_file, text, line(text, "- name: Operator", 2), "organizations[0].users[1]",
           "user 'Operator' is defined twice")


def test_duplicate_channel(net_file: Path) -> None:
    text = VALID + "  - name: trading\n    organizations: [RegistryMSP]\n"
    expect(net_file, text, line(text, "- name: trading", 2), "channels[1]", "channel 'trading' is defined twice")


def test_duplicate_chaincode(net_file: Path) -> None:
    text = VALID + CHAINCODE + "      - name: trading\n        path: contracts/trading\n"
    # The channel, the first chaincode, then the second chaincode of that name.
    expect(net_file, text, line(text, "- name: trading", 3), "channels[0].chaincodes[1]",
           "chaincode 'trading' is defined twice")


def test_duplicate_orderer_node(net_file: Path) -> None:
    text = edit(VALID, ORDERER,
                ORDERER + "  nodes:\n    - name: orderer0\n    - name: orderer0\n")
    assert problems(net_file, text) == [
        f"{net_file}:{line(text, '  nodes:')} orderer.nodes: solo consensus runs exactly one orderer; found 2",
        f"{net_file}:{line(text, '- name: orderer0', 2)} orderer.nodes[1]: orderer node 'orderer0' is defined twice",
    ]


@pytest.mark.parametrize("name", ["Admin", "admin"])
def test_user_named_admin_is_refused(net_file: Path, name: str) -> None:
    text = edit(VALID, "      - name: Operator\n", f"      - name: {name}\n")
    expect(net_file, text, line(text, f"- name: {name}"), "organizations[0].users[0].name",
           "'Admin' is made for every organization; choose another user name")


def test_msp_id_with_a_space(net_file: Path) -> None:
    text = edit(VALID, "msp_id: AuditMSP", "msp_id: Audit MSP")
    expect(net_file, text, line(text, "msp_id: Audit MSP"), "organizations[2].msp_id",
           "'Audit MSP' is not a valid MSP id: letters, digits, '.' and '-'")


def test_upper_case_domain(net_file: Path) -> None:
    text = edit(VALID, "domain: audit.example.com", "domain: Audit.example.com")
    expect(net_file, text, line(text, "Audit.example.com"), "organizations[2].domain",
           "'Audit.example.com' is not a valid lower-case domain name")


def test_org_name_must_start_with_a_letter(net_file: Path) -> None:
    text = edit(VALID, "- name: Audit\n", "- name: 1Audit\n")
    expect(net_file, text, line(text, "1Audit"), "organizations[2].name",
           "'1Audit' is not a valid org name: start with a letter; letters, digits, '-', '_'")


def test_peer_name_must_be_lower_case(net_file: Path) -> None:
    text = edit(VALID, EXCHANGE, EXCHANGE + "    peers: [{name: Peer0}]\n")
    expect(net_file, text, line(text, "Peer0"), "organizations[1].peers[0].name",
           "'Peer0' is not a valid node name: lower-case letters, digits, '-'")


def test_channel_name_with_capitals(net_file: Path) -> None:
    text = edit(VALID, "- name: trading", "- name: Trading")
    expect(net_file, text, line(text, "Trading"), "channels[0].name",
           "'Trading' is not a valid channel name: lower-case letters, digits, '.', '-', starting with a letter")


def test_chaincode_name_with_a_space(net_file: Path) -> None:
    text = VALID + edit(CHAINCODE, "- name: trading", "- name: my trading")
    expect(net_file, text, line(text, "my trading"), "channels[0].chaincodes[0].name",
           "'my trading' is not a valid chaincode name: letters and digits, joined by single '-' or '_'")


def test_chaincode_bad_version(net_file: Path) -> None:
    text = VALID + edit(CHAINCODE, 'version: "1.0"', 'version: "1 beta"')
    expect(net_file, text, line(text, "version:"), "channels[0].chaincodes[0].version",
           "'1 beta' is not a valid version: letters, digits, '.', '_', '+', '-'")


def test_chaincode_sequence_must_be_positive(net_file: Path) -> None:
    text = VALID + CHAINCODE + "        sequence: 0\n"
    expect(net_file, text, line(text, "sequence:"), "channels[0].chaincodes[0].sequence", "must be at least 1, found 0")


def test_chaincode_version_written_as_a_number_is_text(net_file: Path) -> None:
    text = VALID + edit(CHAINCODE, 'version: "1.0"', "version: 2.10")
    (chaincode,) = load_network(net_file, text=text).channel("trading").chaincodes
    assert chaincode.version == "2.10"


def test_malformed_policy_reports_the_column(net_file: Path) -> None:
    policy = "AND('RegistryMSP.peer' 'ExchangeMSP.peer')"
    text = edit(VALID, "\"AND('RegistryMSP.peer', 'ExchangeMSP.peer')\"", f'"{policy}"')
    column = policy.index(" '") + 2  # the quote after the missing comma, 1-based
    (problem,) = problems(net_file, text)
    assert problem.startswith(f"{net_file}:{line(text, 'endorsement_policy')} channels[0].endorsement_policy: ")
    assert problem.endswith(f"at column {column} of {policy!r}")
    assert f"found \"'\" at column {column}" in problem


def test_implicit_meta_with_unknown_sub_policy(net_file: Path) -> None:
    text = edit(VALID, "\"AND('RegistryMSP.peer', 'ExchangeMSP.peer')\"", "MAJORITY Endorsers")
    expect(net_file, text, line(text, "endorsement_policy"), "channels[0].endorsement_policy",
           "unknown sub-policy 'Endorsers': organizations have Readers, Writers, Admins, Endorsement")


def test_implicit_meta_is_not_a_chaincode_endorsement_policy(net_file: Path) -> None:
    text = VALID + CHAINCODE + "        endorsement_policy: ANY Endorsement\n"
    expect(net_file, text, line(text, "endorsement_policy", 2), "channels[0].chaincodes[0].endorsement_policy",
           "'ANY Endorsement': a chaincode endorsement policy must be a signature policy such as AND('A.peer', 'B.peer')")


def test_chaincode_endorsement_policy_members_are_checked(net_file: Path) -> None:
    text = VALID + CHAINCODE + "        endorsement_policy: \"OR('AuditMSP.peer')\"\n"
    expect(net_file, text, line(text, "endorsement_policy", 2), "channels[0].chaincodes[0].endorsement_policy",
           "org 'AuditMSP' is not a member of channel 'trading'")


def test_chaincode_path_that_does_not_exist(net_file: Path) -> None:
    text = VALID + edit(CHAINCODE, "path: contracts/trading", "path: contracts/missing")
    missing = (net_file.parent / "contracts" / "missing").resolve()
    expect(net_file, text, line(text, "contracts/missing"), "channels[0].chaincodes[0].path",
           f"chaincode folder {missing} does not exist")


def write_collections(net_file: Path, *entries: dict[str, object]) -> None:
    (net_file.parent / "collections.json").write_text(json.dumps(list(entries)))


def test_chaincode_collections_config_is_read_beside_the_file(net_file: Path) -> None:
    write_collections(net_file, {"name": "prices", "policy": "OR('RegistryMSP.member', 'ExchangeMSP.member')",
                                 "requiredPeerCount": 1, "maxPeerCount": 2, "blockToLive": 5})
    text = VALID + CHAINCODE + "        collections_config: collections.json\n"
    (chaincode,) = load_network(net_file, text=text).channel("trading").chaincodes
    package = chaincode.collections()
    assert package is not None
    config = package.config[0].static_collection_config
    assert (config.name, config.required_peer_count, config.maximum_peer_count, config.block_to_live) == \
        ("prices", 1, 2, 5)
    (plain,) = load_network(net_file, text=VALID + CHAINCODE).channel("trading").chaincodes
    assert plain.collections() is None


def test_chaincode_collections_of_orgs_outside_the_channel(net_file: Path) -> None:
    write_collections(net_file, {"name": "prices", "policy": "OR('AuditMSP.member')", "requiredPeerCount": 0,
                                 "maxPeerCount": 1})
    text = VALID + CHAINCODE + "        collections_config: collections.json\n"
    expect(net_file, text, line(text, "collections_config"), "channels[0].chaincodes[0].collections_config",
           "collection prices: member AuditMSP is not an organization of the channel")


def test_chaincode_collections_config_missing_or_malformed(net_file: Path) -> None:
    text = VALID + CHAINCODE + "        collections_config: collections.json\n"
    where = line(text, "collections_config")
    [problem] = problems(net_file, text)
    assert problem.startswith(f"{net_file}:{where} channels[0].chaincodes[0].collections_config: cannot read ")
    (net_file.parent / "collections.json").write_text("[{")
    [problem] = problems(net_file, text)
    assert "collections.json" in problem and "JSON" in problem


def test_proposal_time_window_defaults_to_15_minutes_and_may_be_off(net_file: Path) -> None:
    assert load_network(net_file, text=VALID).proposal_time_window == 15 * 60 * 1000
    assert load_network(net_file, text="proposal_time_window: 0\n" + VALID).proposal_time_window == 0
    text = "proposal_time_window: soon\n" + VALID
    [problem] = problems(net_file, text)
    assert "proposal_time_window" in problem and "duration" in problem


def test_solo_with_two_orderer_nodes(net_file: Path) -> None:
    text = edit(VALID, ORDERER,
                ORDERER + "  nodes: [{name: orderer0}, {name: orderer1}]\n")
    expect(net_file, text, line(text, "nodes:"), "orderer.nodes", "solo consensus runs exactly one orderer; found 2")


def test_raft_is_not_available_yet(net_file: Path) -> None:
    text = VALID + "consensus:\n  type: raft\n"
    expect(net_file, text, line(text, "type: raft"), "consensus.type", "raft consensus is not available yet; use solo")


def test_unknown_consensus_type(net_file: Path) -> None:
    text = VALID + "consensus:\n  type: kafka\n"
    expect(net_file, text, line(text, "type: kafka"), "consensus.type", "expected one of solo, raft, found 'kafka'")


def test_preferred_batch_size_above_absolute(net_file: Path) -> None:
    text = VALID + "consensus:\n  batch:\n    absolute_max_bytes: 1 MB\n    preferred_max_bytes: 2 MB\n"
    expect(net_file, text, line(text, "preferred_max_bytes"), "consensus.batch.preferred_max_bytes",
           "must be between 1 byte and absolute_max_bytes (1048576), found 2097152")


def test_zero_message_count(net_file: Path) -> None:
    text = VALID + "consensus:\n  batch:\n    max_message_count: 0\n"
    expect(net_file, text, line(text, "max_message_count"), "consensus.batch.max_message_count",
           "must be at least 1, found 0")


def test_absolute_batch_size_above_grpc_limit(net_file: Path) -> None:
    text = VALID + "consensus:\n  batch:\n    absolute_max_bytes: 101 MB\n"
    expect(net_file, text, line(text, "absolute_max_bytes"), "consensus.batch.absolute_max_bytes",
           f"must be between 1 byte and 100 MB, found {101 * 1024 * 1024}")


def test_zero_batch_timeout(net_file: Path) -> None:
    text = VALID + "consensus:\n  batch:\n    timeout: 0s\n"
    expect(net_file, text, line(text, "timeout"), "consensus.batch.timeout", "must be at least 1ms")


def test_explicit_port_colliding_with_a_derived_one(net_file: Path) -> None:
    # orderer0 derives 9050-9053 from base_port; an explicit 9052 overlaps it.
    text = edit(VALID, EXCHANGE,
                EXCHANGE + "    peers:\n      - name: peer0\n        port: 9052\n")
    expect(net_file, text, line(text, "port: 9052"), "organizations[1].peers[0].port",
           "peer0 of ExchangeMSP needs port 9052, which orderer0 of OrdererMSP already uses")


def test_derived_port_colliding_with_an_earlier_explicit_one(net_file: Path) -> None:
    # orderer0 is moved onto 9063, inside the block that peer0 of Registry derives (9060-9063).
    text = edit(VALID, ORDERER, ORDERER + "  nodes: [{name: orderer0, port: 9063}]\n")
    expect(net_file, text, line(text, "- name: Registry"), "organizations[0].peers[0].port",
           "peer0 of RegistryMSP needs port 9063, which orderer0 of OrdererMSP already uses")


@pytest.mark.parametrize("base_port", [80, 1023, 65533, 70000])
def test_base_port_out_of_range(net_file: Path, base_port: int) -> None:
    text = edit(VALID, "base_port: 9050", f"base_port: {base_port}")
    expect(net_file, text, 2, "base_port", f"must be between 1024 and 65532, found {base_port}")


def test_derived_port_beyond_the_range(net_file: Path) -> None:
    text = edit(VALID, "base_port: 9050", "base_port: 65520")
    # orderer0 listens on 65520 and Registry's peer0 on 65530, both in range; Exchange's would be 65540.
    expect(net_file, text, line(text, "- name: Exchange"), "organizations[1].peers[0].port",
           "peer0 of ExchangeMSP would listen on 65540; ports must lie between 1024 and 65532")


def test_channel_whose_members_have_no_peers(net_file: Path) -> None:
    text = edit(VALID, "[RegistryMSP, ExchangeMSP]", "[AuditMSP]")
    text = edit(text, "\"AND('RegistryMSP.peer', 'ExchangeMSP.peer')\"", "MAJORITY Endorsement")
    expect(net_file, text, line(text, "[AuditMSP]"), "channels[0].organizations",
           "no member organization has a peer to hold the channel's ledger")


def test_channel_without_members(net_file: Path) -> None:
    text = edit(VALID, "[RegistryMSP, ExchangeMSP]", "[]")
    text = edit(text, "\"AND('RegistryMSP.peer', 'ExchangeMSP.peer')\"", "MAJORITY Endorsement")
    expect(net_file, text, line(text, "organizations: []"), "channels[0].organizations",
           "a channel needs at least one member organization")


def test_orderer_msp_id_equal_to_a_peer_orgs(net_file: Path) -> None:
    text = edit(VALID, "msp_id: OrdererMSP", "msp_id: AuditMSP")
    expect(net_file, text, line(text, "msp_id: AuditMSP", 2), "orderer.msp_id",
           "MSP id 'AuditMSP' is already used by a peer organization")


def test_orderer_domain_equal_to_a_peer_orgs(net_file: Path) -> None:
    text = edit(VALID, "domain: orderer.example.com", "domain: audit.example.com")
    expect(net_file, text, line(text, "domain: audit.example.com", 2), "orderer.domain",
           "domain 'audit.example.com' is already used by a peer organization")


def test_network_without_organizations(net_file: Path) -> None:
    text = "name: empty\norganizations: []\n"
    expect(net_file, text, 2, "organizations", "a network needs at least one organization")


def test_bad_host(net_file: Path) -> None:
    text = VALID + "host: not a host\n"
    expect(net_file, text, line(text, "host:"), "host", "'not a host' is neither an IP address nor a host name")


def test_unknown_field_in_an_organization(net_file: Path) -> None:
    text = edit(VALID, AUDIT, AUDIT + "    peer: []\n")
    expect(net_file, text, line(text, "peer: []"), "organizations[2].peer", "unknown field; did you mean 'peers'?")


def test_every_problem_is_reported_in_line_order(net_file: Path) -> None:
    text = edit(VALID, "msp_id: AuditMSP", "msp_id: Audit MSP")
    text = edit(text, "'ExchangeMSP.peer')", "'ExchangMSP.peer')")
    text = edit(text, "- name: trading", "- name: Trading")
    text += "consensus:\n  type: raft\n"
    assert problems(net_file, text) == [
        f"{net_file}:{line(text, 'Audit MSP')} organizations[2].msp_id: "
        "'Audit MSP' is not a valid MSP id: letters, digits, '.' and '-'",
        f"{net_file}:{line(text, 'Trading')} channels[0].name: 'Trading' is not a valid channel name: "
        "lower-case letters, digits, '.', '-', starting with a letter",
        f"{net_file}:{line(text, 'endorsement_policy')} channels[0].endorsement_policy: unknown org 'ExchangMSP'; "
        "did you mean 'ExchangeMSP'?",
        f"{net_file}:{line(text, 'type: raft')} consensus.type: raft consensus is not available yet; use solo",
    ]


def test_chaincode_init_names_a_user_of_the_channel(net_file: Path) -> None:
    text = VALID + CHAINCODE + "        init: {function: 'admin:init', args: ['a', 'b'], user: Registry/Operator}\n"
    (chaincode,) = load_network(net_file, text=text).channel("trading").chaincodes
    assert chaincode.init == ChaincodeInit(function="admin:init", user="Registry/Operator", args=["a", "b"])
    for other in ("RegistryMSP/Operator", "Exchange/Admin"):
        assert load_network(net_file, text=text.replace("Registry/Operator", other)).channels[0].chaincodes[0].init


@pytest.mark.parametrize(("user", "message"), [
    ("Operator", "expected ORG/USER with one of the organizations Registry, Exchange, Audit, found 'Operator'"),
    ("Bank/Operator", "expected ORG/USER with one of the organizations Registry, Exchange, Audit, found 'Bank/Operator'"),
    ("Registry/Trader", "organization Registry has no user 'Trader'; its users are Admin, Operator"),
    ("Exchange/Trader", "organization Exchange has no user 'Trader'; its users are Admin, User1"),
])
def test_chaincode_init_user_problems(net_file: Path, user: str, message: str) -> None:
    text = VALID + CHAINCODE + f"        init: {{function: 'admin:init', user: {user}}}\n"
    expect(net_file, text, line(text, "init:"), "channels[0].chaincodes[0].init.user", message)


def test_chaincode_init_user_must_be_a_channel_member(net_file: Path) -> None:
    text = edit(VALID, AUDIT, AUDIT + "    users: [{name: Viewer}]\n") + CHAINCODE
    text += "        init: {function: 'admin:init', user: Audit/Viewer}\n"
    expect(net_file, text, line(text, "init:"), "channels[0].chaincodes[0].init.user",
           "organization Audit is not a member of channel 'trading'")
