"""Build a channel's `ChannelConfig` from the network definition and crypto material.

Default policies are those of Fabric's test network (`configtx.yaml`):

    org:          Readers     OR(admin, peer, client)     Writers  OR(admin, client)
                  Admins      OR(admin)                   Endorsement  OR(peer)
    orderer org:  Readers, Writers OR(member)             Admins   OR(admin)
    Application:  Readers ANY Readers, Writers ANY Writers, Admins MAJORITY Admins,
                  Endorsement and LifecycleEndorsement from the network file
    Orderer:      Readers ANY Readers, Writers ANY Writers, Admins MAJORITY Admins,
                  BlockValidation ANY Writers
    Channel:      Readers ANY Readers, Writers ANY Writers, Admins MAJORITY Admins
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization

from consortia.config.network import Network, Organization
from consortia.cryptogen import CryptoLayout, OrgLayout
from consortia.errors import ConfigError, IdentityError
from consortia.msp.layout import load_msp, load_signing_identity
from consortia.msp.msp import MSP
from consortia.policy import parse_policy, to_policy_proto
from consortia.protos.v1 import channel_config_pb2 as cc

_PEM = serialization.Encoding.PEM


def _policy(text: str) -> cc.Policy:
    proto = to_policy_proto(parse_policy(text))
    return cc.Policy(type=proto.type, value=proto.value)


def _policies(texts: dict[str, str]) -> dict[str, cc.Policy]:
    return {name: _policy(text) for name, text in texts.items()}


def _msp_definition(msp: MSP) -> cc.MSPDefinition:
    ous = msp.node_ous
    return cc.MSPDefinition(
        msp_id=msp.msp_id,
        root_certs=[c.public_bytes(_PEM) for c in msp.root_certs],
        intermediate_certs=[c.public_bytes(_PEM) for c in msp.intermediate_certs],
        tls_root_certs=[c.public_bytes(_PEM) for c in msp.tls_root_certs],
        tls_intermediate_certs=[c.public_bytes(_PEM) for c in msp.tls_intermediate_certs],
        node_ous=cc.NodeOUs(
            enable=ous.enabled, client_ou=ous.client, peer_ou=ous.peer, admin_ou=ous.admin, orderer_ou=ous.orderer
        ),
    )


def _load_org_msp(layout: OrgLayout, msp_id: str) -> MSP:
    if not layout.msp_dir.is_dir():
        raise ConfigError([f"crypto material of {msp_id} is missing: {layout.msp_dir} (run consortia crypto generate)"])
    return load_msp(layout.msp_dir, msp_id)


def build_channel_config(network: Network, channel_name: str, crypto_root: str | Path) -> cc.ChannelConfig:
    """The genesis configuration of `channel_name` (ConfigError if material is missing)."""
    try:
        channel = network.channel(channel_name)
    except KeyError:
        known = ", ".join(c.name for c in network.channels) or "none"
        raise ConfigError([f"network {network.name!r} has no channel {channel_name!r} (channels: {known})"]) from None
    crypto = CryptoLayout(Path(crypto_root), network)
    ports = network.node_ports()

    def app_org(org: Organization) -> cc.Organization:
        m = org.msp_id
        return cc.Organization(
            name=org.name,
            msp=_msp_definition(_load_org_msp(crypto.org(m), m)),
            policies=_policies({
                "Readers": f"OR('{m}.admin', '{m}.peer', '{m}.client')",
                "Writers": f"OR('{m}.admin', '{m}.client')",
                "Admins": f"OR('{m}.admin')",
                "Endorsement": f"OR('{m}.peer')",
            }),
            endpoints=[
                cc.Endpoint(name=f"{p.name}.{org.domain}", host=network.host, port=ports[(m, p.name)].listen)
                for p in org.peers
            ],
        )

    orderer = network.orderer
    o = orderer.msp_id
    orderer_layout = crypto.org(o)
    consenters = []
    for node in orderer.nodes:
        node_dir = orderer_layout.node_dir(node.name)
        try:
            identity = load_signing_identity(node_dir / "msp", o).identity
            tls_cert = (node_dir / "tls" / "server.crt").read_bytes()
        except (OSError, IdentityError) as exc:
            raise ConfigError([
                f"crypto material of orderer {node.name} is missing or broken under {node_dir}: {exc} "
                "(run consortia crypto generate)"
            ]) from exc
        consenters.append(cc.Consenter(
            name=f"{node.name}.{orderer.domain}", host=network.host, port=ports[(o, node.name)].listen,
            msp_id=o, identity=identity.certificate_pem, server_tls_cert=tls_cert, client_tls_cert=tls_cert,
        ))
    batch = network.consensus.batch
    return cc.ChannelConfig(
        channel_id=channel.name,
        sequence=0,
        policies=_policies({"Readers": "ANY Readers", "Writers": "ANY Writers", "Admins": "MAJORITY Admins"}),
        application=cc.ApplicationConfig(
            organizations=[app_org(network.organization(m)) for m in channel.organizations],
            policies=_policies(channel.policies()),
        ),
        orderer=cc.OrdererConfig(
            organizations=[cc.Organization(
                name=orderer.name,
                msp=_msp_definition(_load_org_msp(orderer_layout, o)),
                policies=_policies({
                    "Readers": f"OR('{o}.member')",
                    "Writers": f"OR('{o}.member')",
                    "Admins": f"OR('{o}.admin')",
                }),
                endpoints=[cc.Endpoint(name=c.name, host=c.host, port=c.port) for c in consenters],
            )],
            policies=_policies({
                "Readers": "ANY Readers",
                "Writers": "ANY Writers",
                "Admins": "MAJORITY Admins",
                "BlockValidation": "ANY Writers",
            }),
            consensus_type=network.consensus.type,
            consenters=consenters,
            batch_size=cc.BatchSize(
                max_message_count=batch.max_message_count,
                absolute_max_bytes=batch.absolute_max_bytes,
                preferred_max_bytes=batch.preferred_max_bytes,
            ),
            batch_timeout_ms=batch.timeout,
        ),
    )
