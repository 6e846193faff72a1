"""Channel configurations made directly from sample orgs, for unit tests that need a real
ChannelBundle (MSPs, policies, endpoints) without crypto folders or a network file."""

from __future__ import annotations

from consortia.channelconfig.bundle import ChannelBundle
from consortia.msp.identity import Role
from consortia.policy import ImplicitMeta, MetaRule, Policy, Principal
from consortia.policy.envelope import to_policy_proto
from consortia.protos.v1 import channel_config_pb2 as cc
from tests.support.identities import SampleOrg


def policy_proto(policy: Policy) -> cc.Policy:
    proto = to_policy_proto(policy)
    return cc.Policy(type=proto.type, value=proto.value)


def organization(org: SampleOrg, name: str | None = None, addresses: list[str] | None = None,
                 endorsement: bool = False) -> cc.Organization:
    """An org with NodeOUs, its CA as root (and TLS root), Readers = any member, and
    optionally Endorsement = any peer and peer endpoints ("host:port")."""
    pem = org.ca.certificate_pem
    policies = {"Readers": policy_proto(Principal(org.msp_id, Role.MEMBER))}
    if endorsement:
        policies["Endorsement"] = policy_proto(Principal(org.msp_id, Role.PEER))
    return cc.Organization(
        name=name or org.msp_id.removesuffix("MSP"),
        msp=cc.MSPDefinition(
            msp_id=org.msp_id, root_certs=[pem], tls_root_certs=[pem],
            node_ous=cc.NodeOUs(enable=True, client_ou="client", peer_ou="peer", admin_ou="admin", orderer_ou="orderer"),
        ),
        policies=policies,
        endpoints=[cc.Endpoint(host=a.split(":")[0], port=int(a.split(":")[1])) for a in addresses or []],
    )


def readers_bundle(channel_id: str, members: list[SampleOrg], orderer: SampleOrg) -> ChannelBundle:
    """A channel whose Readers are any member of `members`, ordered by `orderer`'s org."""
    readers = policy_proto(ImplicitMeta(MetaRule.ANY, "Readers"))
    return ChannelBundle.from_config(cc.ChannelConfig(
        channel_id=channel_id,
        policies={"Readers": readers},
        application=cc.ApplicationConfig(organizations=[organization(org) for org in members],
                                         policies={"Readers": readers}),
        orderer=cc.OrdererConfig(organizations=[organization(orderer)], policies={"Readers": readers}),
    ))
