"""`consortia crypto generate` and the channel configuration built from its output.

`cryptogen.generate` writes every organization's CAs and the keys and certificates of
its nodes and users in Fabric's `cryptogen` layout; running it again only fills in what
is missing. `channelconfig.build_channel_config` reads that material back into a
channel's genesis configuration, and `ChannelBundle.from_config` turns the
configuration into the MSPs and policies a node evaluates.

The expected paths here are spelled out from the domains rather than taken from
`CryptoLayout`, so a change of layout shows up as a failure. The `openssl` command
checks the same certificates independently in tests/component/test_openssl_verify.py.
"""

from __future__ import annotations

import dataclasses
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.bundle import ChannelBundle
from consortia.config.network import Network, User
from consortia.cryptogen import generate
from consortia.errors import ConfigError, IdentityError
from consortia.msp.identity import Identity, Role
from consortia.msp.layout import load_msp, load_signing_identity
from consortia.msp.signing import verify_signature
from consortia.protos.v1 import channel_config_pb2 as cc
from tests.support.crypto_layout import IdentityDir, org_dirs

pytestmark = pytest.mark.unit



def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def signing_identity_of(ident: IdentityDir) -> Identity:
    return load_signing_identity(ident.folder / "msp", ident.org.msp_id).identity


# --- layout ---------------------------------------------------------------------------


def test_minimal_network_gets_the_cryptogen_layout(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path)
    org = tmp_path / "peerOrganizations" / "org1.example.com"
    peer = org / "peers" / "peer0.org1.example.com"
    expected = [
        org / "ca" / "ca.org1.example.com-cert.pem",
        org / "ca" / "priv_sk",
        org / "tlsca" / "tlsca.org1.example.com-cert.pem",
        org / "tlsca" / "priv_sk",
        org / "msp" / "cacerts" / "ca.org1.example.com-cert.pem",
        org / "msp" / "tlscacerts" / "tlsca.org1.example.com-cert.pem",
        org / "msp" / "config.yaml",
        peer / "msp" / "cacerts" / "ca.org1.example.com-cert.pem",
        peer / "msp" / "signcerts" / "peer0.org1.example.com-cert.pem",
        peer / "msp" / "keystore" / "priv_sk",
        peer / "msp" / "tlscacerts" / "tlsca.org1.example.com-cert.pem",
        peer / "msp" / "config.yaml",
        peer / "tls" / "ca.crt",
        peer / "tls" / "server.crt",
        peer / "tls" / "server.key",
    ]
    for user in ("Admin", "User1"):
        home = org / "users" / f"{user}@org1.example.com"
        expected += [
            home / "msp" / "signcerts" / f"{user}@org1.example.com-cert.pem",
            home / "msp" / "keystore" / "priv_sk",
            home / "msp" / "cacerts" / "ca.org1.example.com-cert.pem",
            home / "msp" / "config.yaml",
            home / "tls" / "ca.crt",
            home / "tls" / "client.crt",
            home / "tls" / "client.key",
        ]
    orderer_org = tmp_path / "ordererOrganizations" / "orderer.example.com"
    orderer = orderer_org / "orderers" / "orderer0.orderer.example.com"
    expected += [
        orderer_org / "ca" / "ca.orderer.example.com-cert.pem",
        orderer_org / "ca" / "priv_sk",
        orderer_org / "tlsca" / "tlsca.orderer.example.com-cert.pem",
        orderer_org / "tlsca" / "priv_sk",
        orderer_org / "msp" / "cacerts" / "ca.orderer.example.com-cert.pem",
        orderer / "msp" / "signcerts" / "orderer0.orderer.example.com-cert.pem",
        orderer / "msp" / "keystore" / "priv_sk",
        orderer / "tls" / "server.crt",
        orderer / "tls" / "server.key",
        orderer_org / "users" / "Admin@orderer.example.com" / "tls" / "client.crt",
    ]
    missing = [str(p.relative_to(tmp_path)) for p in expected if not p.is_file()]
    assert missing == []
    # Nothing else at the top, and no staging folder left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ordererOrganizations", "peerOrganizations"]
    assert not [p for p in tmp_path.rglob(".*")]


def test_report_lists_what_was_created(minimal: Network, tmp_path: Path) -> None:
    report = generate(minimal, tmp_path)
    assert sorted(report.created) == [
        "ordererOrganizations/orderer.example.com",
        "ordererOrganizations/orderer.example.com/orderers/orderer0.orderer.example.com",
        "ordererOrganizations/orderer.example.com/users/Admin@orderer.example.com",
        "peerOrganizations/org1.example.com",
        "peerOrganizations/org1.example.com/peers/peer0.org1.example.com",
        "peerOrganizations/org1.example.com/users/Admin@org1.example.com",
        "peerOrganizations/org1.example.com/users/User1@org1.example.com",
    ]
    assert report.kept == []


def test_carbon_market_layout(carbon: Network, carbon_crypto: Path, carbon_identities: list[IdentityDir]) -> None:
    assert len(carbon_identities) == 1 + 1 + 10 + 11 + sum(len(o.users) for o in carbon.organizations)
    for org in org_dirs(carbon, carbon_crypto):
        assert org.ca_cert.is_file() and org.tlsca_cert.is_file(), org.msp_id
        assert (org.root / "msp" / "cacerts" / org.ca_cert.name).read_bytes() == org.ca_cert.read_bytes()
    for ident in carbon_identities:
        assert ident.signcert.is_file(), ident.folder
        assert (ident.folder / "msp" / "keystore" / "priv_sk").is_file()
        assert ident.tls_cert.is_file()
        assert (ident.folder / "tls" / "ca.crt").read_bytes() == ident.org.tlsca_cert.read_bytes()
    audit = carbon_crypto / "peerOrganizations" / "audit.carbon.example"
    assert not (audit / "peers").exists()
    assert (audit / "users" / "Auditor@audit.carbon.example" / "msp" / "signcerts").is_dir()


def test_private_keys_are_readable_by_the_owner_only(carbon_crypto: Path, carbon_identities: list[IdentityDir]) -> None:
    keys = [p for p in carbon_crypto.rglob("*") if p.is_file() and (p.name == "priv_sk" or p.suffix == ".key")]
    # Two CA keys per org (12 orgs), then two keys (signing and TLS) per identity.
    assert len(keys) == 2 * 12 + 2 * len(carbon_identities)
    for key in keys:
        assert stat.S_IMODE(key.stat().st_mode) == 0o600, key


def test_folders_are_readable_like_cryptogen_makes_them(carbon_crypto: Path) -> None:
    folders = [p for p in carbon_crypto.rglob("*") if p.is_dir()]
    assert folders
    for folder in folders:
        assert stat.S_IMODE(folder.stat().st_mode) == 0o755, folder


def test_missing_org_msp_folder_is_rewritten_from_the_existing_cas(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path)
    org = tmp_path / "peerOrganizations" / "org1.example.com"
    ca_before = (org / "ca" / "ca.org1.example.com-cert.pem").read_bytes()
    shutil.rmtree(org / "msp")
    report = generate(minimal, tmp_path)
    assert report.created == ["peerOrganizations/org1.example.com/msp"]
    assert (org / "msp" / "cacerts" / "ca.org1.example.com-cert.pem").read_bytes() == ca_before
    assert load_msp(org / "msp", "Org1MSP").root_certs[0].public_bytes(serialization.Encoding.PEM) == ca_before


# --- identities -----------------------------------------------------------------------


def test_every_identity_validates_with_its_role(carbon: Network, carbon_crypto: Path,
                                                carbon_identities: list[IdentityDir]) -> None:
    msps = {org.msp_id: load_msp(org.root / "msp", org.msp_id) for org in org_dirs(carbon, carbon_crypto)}
    roles: dict[Role, int] = {}
    for ident in carbon_identities:
        signer = load_signing_identity(ident.folder / "msp", ident.org.msp_id)
        assert signer.identity.common_name == ident.common_name
        assert msps[ident.org.msp_id].validate(signer.identity) is ident.role, ident.folder
        # The key in keystore/ is the certificate's: what it signs verifies.
        verify_signature(signer.identity.public_key, signer.sign(b"payload"), b"payload")
        roles[ident.role] = roles.get(ident.role, 0) + 1
    assert roles == {Role.ORDERER: 1, Role.ADMIN: 12, Role.PEER: 10, Role.CLIENT: 21}


def test_identity_does_not_validate_against_another_orgs_ca(carbon_identities: list[IdentityDir]) -> None:
    registry = next(i for i in carbon_identities if i.common_name == "peer0.registry.carbon.example")
    exchange_msp_dir = registry.org.root.parent / "exchange.carbon.example" / "msp"
    # The Exchange CA, under the Registry's MSP id: same claim, wrong issuer.
    impostor = load_msp(exchange_msp_dir, registry.org.msp_id)
    with pytest.raises(IdentityError, match="was not issued by a CA of RegistryMSP"):
        impostor.validate(signing_identity_of(registry))


def test_org_msp_has_node_ous_and_tls_roots(carbon_crypto: Path) -> None:
    msp = load_msp(carbon_crypto / "peerOrganizations" / "bank.carbon.example" / "msp", "BankMSP")
    assert msp.node_ous.enabled
    assert (msp.node_ous.client, msp.node_ous.peer, msp.node_ous.admin, msp.node_ous.orderer) == (
        "client", "peer", "admin", "orderer",
    )
    (tls_root,) = msp.tls_root_certs
    assert tls_root.subject.rfc4514_string().startswith("CN=tlsca.bank.carbon.example")


def test_user_attributes_are_in_the_certificate(carbon: Network, carbon_identities: list[IdentityDir]) -> None:
    for ident in carbon_identities:
        assert signing_identity_of(ident).attributes == ident.attributes, ident.folder
    e4 = next(i for i in carbon_identities if i.common_name == "E4@emitter.carbon.example")
    assert signing_identity_of(e4).attributes == {"role": "emitter", "entity_id": "E4", "province": "SD"}


def test_tls_server_certificates_name_the_node_and_loopback(carbon_identities: list[IdentityDir]) -> None:
    servers = [i for i in carbon_identities if i.server]
    assert len(servers) == 11
    for ident in servers:
        cert = x509.load_pem_x509_certificate(ident.tls_cert.read_bytes())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        short = ident.common_name.split(".", 1)[0]
        assert sans.get_values_for_type(x509.DNSName) == [ident.common_name, short, "localhost"]
        assert [str(ip) for ip in sans.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.SERVER_AUTH in usage and ExtendedKeyUsageOID.CLIENT_AUTH in usage
        assert (ident.folder / "tls" / "server.key").is_file()


def test_tls_client_certificates_allow_client_auth(carbon_identities: list[IdentityDir]) -> None:
    clients = [i for i in carbon_identities if not i.server]
    for ident in clients:
        cert = x509.load_pem_x509_certificate(ident.tls_cert.read_bytes())
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert ExtendedKeyUsageOID.CLIENT_AUTH in usage, ident.folder


# --- running again --------------------------------------------------------------------


def test_running_again_keeps_every_file_byte_identical(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path)
    before = snapshot(tmp_path)
    report = generate(minimal, tmp_path)
    assert snapshot(tmp_path) == before
    assert report.created == []
    assert "peerOrganizations/org1.example.com/users/User1@org1.example.com" in report.kept


def test_adding_a_user_creates_only_that_user(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path)
    before = snapshot(tmp_path)
    (org,) = minimal.organizations
    auditor = User(name="Auditor", attributes={"role": "auditor"})
    grown = dataclasses.replace(minimal, organizations=[dataclasses.replace(org, users=[*org.users, auditor])])
    report = generate(grown, tmp_path)
    home = "peerOrganizations/org1.example.com/users/Auditor@org1.example.com"
    assert report.created == [home]
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith(home + "/")} == before
    assert f"{home}/msp/signcerts/Auditor@org1.example.com-cert.pem" in after
    identity = load_signing_identity(tmp_path / home / "msp", "Org1MSP").identity
    msp = load_msp(tmp_path / "peerOrganizations" / "org1.example.com" / "msp", "Org1MSP")
    assert msp.validate(identity) is Role.CLIENT
    assert identity.attributes == {"role": "auditor"}


def test_force_replaces_the_cas(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path)
    org = tmp_path / "peerOrganizations" / "org1.example.com"
    old_ca = (org / "ca" / "ca.org1.example.com-cert.pem").read_bytes()
    old_key = (org / "ca" / "priv_sk").read_bytes()
    old_peer = load_signing_identity(org / "peers" / "peer0.org1.example.com" / "msp", "Org1MSP").identity
    report = generate(minimal, tmp_path, force=True)
    assert len(report.created) == 7 and report.kept == []
    assert (org / "ca" / "ca.org1.example.com-cert.pem").read_bytes() != old_ca
    assert (org / "ca" / "priv_sk").read_bytes() != old_key
    msp = load_msp(org / "msp", "Org1MSP")
    new_peer = load_signing_identity(org / "peers" / "peer0.org1.example.com" / "msp", "Org1MSP").identity
    assert msp.validate(new_peer) is Role.PEER
    with pytest.raises(IdentityError):
        msp.validate(old_peer)


def test_force_keeps_unrelated_files(minimal: Network, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    generate(minimal, tmp_path, force=True)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_missing_ca_makes_the_org_start_over(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path)
    org = tmp_path / "peerOrganizations" / "org1.example.com"
    orderer_before = snapshot(tmp_path / "ordererOrganizations")
    old_tlsca = (org / "tlsca" / "tlsca.org1.example.com-cert.pem").read_bytes()
    old_user = (org / "users" / "User1@org1.example.com" / "msp" / "signcerts" / "User1@org1.example.com-cert.pem").read_bytes()
    (org / "users" / "stray.txt").write_text("issued by the old CA")
    shutil.rmtree(org / "ca")
    report = generate(minimal, tmp_path)
    assert sorted(report.created) == [
        "peerOrganizations/org1.example.com",
        "peerOrganizations/org1.example.com/peers/peer0.org1.example.com",
        "peerOrganizations/org1.example.com/users/Admin@org1.example.com",
        "peerOrganizations/org1.example.com/users/User1@org1.example.com",
    ]
    assert snapshot(tmp_path / "ordererOrganizations") == orderer_before
    assert not (org / "users" / "stray.txt").exists()
    assert (org / "tlsca" / "tlsca.org1.example.com-cert.pem").read_bytes() != old_tlsca
    new_user = (org / "users" / "User1@org1.example.com" / "msp" / "signcerts" / "User1@org1.example.com-cert.pem").read_bytes()
    assert new_user != old_user
    msp = load_msp(org / "msp", "Org1MSP")
    for folder, role in (("peers/peer0.org1.example.com", Role.PEER), ("users/Admin@org1.example.com", Role.ADMIN)):
        assert msp.validate(load_signing_identity(org / folder / "msp", "Org1MSP").identity) is role


def test_missing_identity_is_reissued_from_the_existing_ca(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path)
    org = tmp_path / "peerOrganizations" / "org1.example.com"
    ca_before = (org / "ca" / "ca.org1.example.com-cert.pem").read_bytes()
    shutil.rmtree(org / "peers" / "peer0.org1.example.com" / "tls")
    report = generate(minimal, tmp_path)
    assert report.created == ["peerOrganizations/org1.example.com/peers/peer0.org1.example.com"]
    assert (org / "ca" / "ca.org1.example.com-cert.pem").read_bytes() == ca_before
    assert (org / "peers" / "peer0.org1.example.com" / "tls" / "server.crt").is_file()


# --- channel configuration ----------------------------------------------------------------


@pytest.fixture(scope="module")
def trading_config(carbon: Network, carbon_crypto: Path) -> cc.ChannelConfig:
    return build_channel_config(carbon, "trading", carbon_crypto)


@pytest.fixture(scope="module")
def trading(trading_config: cc.ChannelConfig) -> ChannelBundle:
    return ChannelBundle.from_config(trading_config)


@pytest.fixture(scope="module")
def who(carbon_identities: list[IdentityDir]) -> Callable[[str], Identity]:
    """The generated identity with a given common name, e.g. peer0.registry.carbon.example."""
    by_name = {i.common_name: i for i in carbon_identities}
    return lambda common_name: signing_identity_of(by_name[common_name])


def peer_of(org: str) -> str:
    return f"peer0.{org}.carbon.example"


def test_channel_members(trading: ChannelBundle, trading_config: cc.ChannelConfig) -> None:
    assert trading.channel_id == "trading"
    assert trading.application_msp_ids == (
        "MEEMSP", "ProvGDMSP", "ProvSDMSP", "EmitterMSP", "RegistryMSP", "ExchangeMSP", "BankMSP", "AuditMSP",
    )
    assert [o.name for o in trading_config.application.organizations] == [
        "MEE", "ProvGD", "ProvSD", "Emitter", "Registry", "Exchange", "Bank", "Audit",
    ]
    assert trading.orderer_msp_ids == ("OrdererMSP",)
    assert set(trading.msp_manager.msp_ids) == {*trading.application_msp_ids, "OrdererMSP"}


def test_channel_endpoints_and_batch(carbon: Network, trading_config: cc.ChannelConfig) -> None:
    ports = carbon.node_ports()
    registry = next(o for o in trading_config.application.organizations if o.name == "Registry")
    assert [(e.name, e.host, e.port) for e in registry.endpoints] == [
        ("peer0.registry.carbon.example", "127.0.0.1", ports[("RegistryMSP", "peer0")].listen)
    ]
    audit = next(o for o in trading_config.application.organizations if o.name == "Audit")
    assert list(audit.endpoints) == []
    (consenter,) = trading_config.orderer.consenters
    assert (consenter.name, consenter.port, consenter.msp_id) == (
        "orderer0.orderer.carbon.example", ports[("OrdererMSP", "orderer0")].listen, "OrdererMSP",
    )
    batch = trading_config.orderer.batch_size
    assert (batch.max_message_count, batch.absolute_max_bytes, batch.preferred_max_bytes) == (500, 10 * 1024**2, 2 * 1024**2)
    assert trading_config.orderer.batch_timeout_ms == 500  # network-config/carbon-market.yaml: timeout 500ms
    assert trading_config.orderer.consensus_type == "solo"


def test_endorsement_needs_the_registry_and_one_more(trading: ChannelBundle, who: Callable[[str], Identity]) -> None:
    path = "/Channel/Application/Endorsement"
    assert trading.policies.evaluate(path, [who(peer_of("registry")), who(peer_of("exchange"))])
    assert trading.policies.evaluate(path, [who(peer_of("registry")), who(peer_of("bank"))])
    assert not trading.policies.evaluate(path, [who(peer_of("registry"))])
    assert not trading.policies.evaluate(path, [who(peer_of("exchange")), who(peer_of("mee"))])
    # A Registry client is not a Registry peer.
    assert not trading.policies.evaluate(path, [who("Operator@registry.carbon.example"), who(peer_of("exchange"))])


def test_writers_are_clients_and_admins_not_peers(trading: ChannelBundle, who: Callable[[str], Identity]) -> None:
    path = "/Channel/Application/Writers"
    assert trading.policies.evaluate(path, [who("E1@emitter.carbon.example")])
    assert trading.policies.evaluate(path, [who("Admin@bank.carbon.example")])
    assert not trading.policies.evaluate(path, [who(peer_of("registry"))])
    # Stats is not a member of trading.
    assert not trading.policies.evaluate(path, [who("Officer@stats.carbon.example")])


def test_block_validation_is_the_orderers(trading: ChannelBundle, who: Callable[[str], Identity]) -> None:
    path = "/Channel/Orderer/BlockValidation"
    assert trading.policies.evaluate(path, [who("orderer0.orderer.carbon.example")])
    assert not trading.policies.evaluate(path, [who(peer_of("registry"))])
    assert not trading.policies.evaluate(path, [])


def test_lifecycle_endorsement_needs_a_majority_of_eight(trading: ChannelBundle, who: Callable[[str], Identity]) -> None:
    path = "/Channel/Application/LifecycleEndorsement"
    peers = [who(peer_of(org)) for org in ("mee", "prov-gd", "prov-sd", "emitter", "registry")]
    assert trading.policies.evaluate(path, peers)
    verdict = trading.policies.evaluate(path, peers[:4])
    assert not verdict
    assert "5 of the 8 Endorsement sub-policies" in verdict.reason
    # Stats's peer is not a member: it does not count toward the majority.
    assert not trading.policies.evaluate(path, [*peers[:4], who(peer_of("stats"))])


def test_unknown_channel(carbon: Network, carbon_crypto: Path) -> None:
    with pytest.raises(ConfigError) as info:
        build_channel_config(carbon, "no-such-channel", carbon_crypto)
    assert info.value.problems == [
        "network 'carbon-market' has no channel 'no-such-channel' (channels: data-sharing, trading)"
    ]


def test_missing_crypto_material(carbon: Network, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        build_channel_config(carbon, "trading", tmp_path)
    (problem,) = info.value.problems
    assert "orderer0" in problem and "crypto generate" in problem


def test_missing_org_material(minimal: Network, tmp_path: Path) -> None:
    generate(minimal, tmp_path)
    shutil.rmtree(tmp_path / "peerOrganizations" / "org1.example.com" / "msp")
    with pytest.raises(ConfigError) as info:
        build_channel_config(minimal, "mychannel", tmp_path)
    (problem,) = info.value.problems
    assert problem.startswith("crypto material of Org1MSP is missing")
    assert "crypto generate" in problem


def corrupt_root(config: cc.ChannelConfig) -> None:
    pem = config.application.organizations[1].msp.root_certs[0]
    lines = pem.splitlines()
    # Keep the PEM frame, drop most of the body: framing is fine, the DER is not.
    config.application.organizations[1].msp.root_certs[0] = b"\n".join([*lines[:3], lines[-1]]) + b"\n"


def garbage_root(config: cc.ChannelConfig) -> None:
    config.application.organizations[0].msp.root_certs[0] = b"not a certificate"


def leaf_as_root(config: cc.ChannelConfig) -> None:
    msp = config.application.organizations[0].msp
    msp.root_certs[0] = config.orderer.consenters[0].identity


def garbage_policy(config: cc.ChannelConfig) -> None:
    config.application.policies["Endorsement"].value = b"\xff\xff\xff"


def garbage_meta_policy(config: cc.ChannelConfig) -> None:
    config.policies["Readers"].value = b"\xff"


def garbage_org_policy(config: cc.ChannelConfig) -> None:
    config.orderer.organizations[0].policies["Writers"].value = b"\x0a\x05junk"


def unknown_policy_type(config: cc.ChannelConfig) -> None:
    config.application.policies["Writers"].type = 2


@pytest.mark.parametrize(
    ("corrupt", "expected"),
    [
        (corrupt_root, "MSP ProvGDMSP root certificate 0 is not a PEM certificate"),
        (garbage_root, "MSP MEEMSP root certificate 0 is not a PEM certificate"),
        (leaf_as_root, "is configured as a CA but is not a CA certificate"),
        (garbage_policy, "policy /Channel/Application/Endorsement: not a SignaturePolicyEnvelope"),
        (garbage_meta_policy, "policy /Channel/Readers: not an ImplicitMetaPolicy"),
        (garbage_org_policy, "policy /Channel/Orderer/Orderer/Writers: not a SignaturePolicyEnvelope"),
        (unknown_policy_type, "policy /Channel/Application/Writers: policy type 2 is not supported"),
    ],
)
def test_corrupted_config_is_refused(trading_config: cc.ChannelConfig,
                                     corrupt: Callable[[cc.ChannelConfig], None], expected: str) -> None:
    config = cc.ChannelConfig()
    config.CopyFrom(trading_config)
    corrupt(config)
    with pytest.raises(ConfigError) as info:
        ChannelBundle.from_config(config)
    (problem,) = info.value.problems
    assert expected in problem
    ChannelBundle.from_config(trading_config)  # the original is untouched and still good
