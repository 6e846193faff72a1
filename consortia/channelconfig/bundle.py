"""What a node derives from a channel's configuration: its MSPs and its policies.

A `ChannelBundle` is made once per config block and then used read-only: to validate
creators (MSPManager), to evaluate Readers/Writers/Endorsement/BlockValidation
(PolicyManager), and to read the orderer settings. Building one checks the whole
configuration, so a malformed config block is refused as a whole.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cryptography import x509

from consortia.errors import ConfigError, IdentityError, PolicyError
from consortia.msp.manager import MSPManager
from consortia.msp.msp import MSP, NodeOUs
from consortia.policy import PolicyGroup, PolicyManager, from_policy_proto
from consortia.policy.model import Policy
from consortia.policy.manager import ROOT
from consortia.protos.v1 import channel_config_pb2 as cc
from fabric_protos.common import policies_pb2

APPLICATION = "Application"
ORDERER = "Orderer"


def _certs(blobs: Iterable[bytes], what: str) -> list[x509.Certificate]:
    certs: list[x509.Certificate] = []
    for index, blob in enumerate(blobs):
        try:
            certs.extend(x509.load_pem_x509_certificates(blob))
        except ValueError as exc:
            raise ConfigError([f"{what} certificate {index} is not a PEM certificate: {exc}"]) from exc
    return certs


def msp_from_definition(definition: cc.MSPDefinition) -> MSP:
    what = f"MSP {definition.msp_id}"
    ous = definition.node_ous
    node_ous = (
        NodeOUs(enabled=True, client=ous.client_ou, peer=ous.peer_ou, admin=ous.admin_ou, orderer=ous.orderer_ou)
        if ous.enable
        else NodeOUs(enabled=False)
    )
    try:
        return MSP(
            definition.msp_id,
            root_certs=_certs(definition.root_certs, f"{what} root"),
            intermediate_certs=_certs(definition.intermediate_certs, f"{what} intermediate"),
            node_ous=node_ous,
            tls_root_certs=_certs(definition.tls_root_certs, f"{what} TLS root"),
            tls_intermediate_certs=_certs(definition.tls_intermediate_certs, f"{what} TLS intermediate"),
        )
    except IdentityError as exc:
        raise ConfigError([str(exc)]) from exc


def _policies(policies: Iterable[tuple[str, cc.Policy]], where: str) -> dict[str, Policy]:
    result = {}
    for name, proto in policies:
        try:
            result[name] = from_policy_proto(policies_pb2.Policy(type=proto.type, value=proto.value))
        except PolicyError as exc:
            raise ConfigError([f"policy {where}/{name}: {exc}"]) from exc
    return result


def _org_groups(orgs: Iterable[cc.Organization], where: str) -> dict[str, PolicyGroup]:
    groups: dict[str, PolicyGroup] = {}
    for org in orgs:
        if not org.name or org.name in groups:
            raise ConfigError([f"{where}: organization name {org.name!r} is empty or repeated"])
        groups[org.name] = PolicyGroup(org.name, _policies(org.policies.items(), f"{where}/{org.name}"))
    return groups


@dataclass(frozen=True)
class ChannelBundle:
    config: cc.ChannelConfig
    msp_manager: MSPManager
    policies: PolicyManager

    @property
    def channel_id(self) -> str:
        return str(self.config.channel_id)

    @property
    def application_msp_ids(self) -> tuple[str, ...]:
        return tuple(o.msp.msp_id for o in self.config.application.organizations)

    @property
    def orderer_msp_ids(self) -> tuple[str, ...]:
        return tuple(o.msp.msp_id for o in self.config.orderer.organizations)

    @classmethod
    def from_config(cls, config: cc.ChannelConfig) -> ChannelBundle:
        """Check and index a ChannelConfig; ConfigError says what is wrong with it."""
        if not config.channel_id:
            raise ConfigError(["channel config has no channel id"])
        orgs = [*config.application.organizations, *config.orderer.organizations]
        if not config.application.organizations:
            raise ConfigError([f"channel {config.channel_id} has no member organization"])
        if not config.orderer.organizations:
            raise ConfigError([f"channel {config.channel_id} has no orderer organization"])
        try:
            msp_manager = MSPManager(msp_from_definition(o.msp) for o in orgs)
        except IdentityError as exc:
            raise ConfigError([str(exc)]) from exc
        root = PolicyGroup(
            ROOT,
            _policies(config.policies.items(), f"/{ROOT}"),
            {
                APPLICATION: PolicyGroup(
                    APPLICATION,
                    _policies(config.application.policies.items(), f"/{ROOT}/{APPLICATION}"),
                    _org_groups(config.application.organizations, f"/{ROOT}/{APPLICATION}"),
                ),
                ORDERER: PolicyGroup(
                    ORDERER,
                    _policies(config.orderer.policies.items(), f"/{ROOT}/{ORDERER}"),
                    _org_groups(config.orderer.organizations, f"/{ROOT}/{ORDERER}"),
                ),
            },
        )
        return cls(config=config, msp_manager=msp_manager, policies=PolicyManager(root, msp_manager))
