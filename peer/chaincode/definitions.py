"""Chaincode definitions, as they stand until the lifecycle manages them: the deployments
listed in the peer's configuration (name, version, channels, endorsement policy).

They answer the endorser (is the chaincode defined on the channel, at which version)
and the validator (its endorsement policy). Every peer of a channel must list the same
definitions, or peers would validate differently; the lifecycle will make this a
channel-wide agreement instead.
"""

from __future__ import annotations

from collections.abc import Iterable

from consortia.config.node import ChaincodeDeployment
from consortia.policy import SignatureRule, parse_signature_policy
from consortia.policy.paths import APPLICATION_ENDORSEMENT


class ConfiguredDefinitions:
    def __init__(self, deployments: Iterable[ChaincodeDeployment]) -> None:
        self._by_channel: dict[str, dict[str, ChaincodeDeployment]] = {}
        self._rules: dict[str, SignatureRule] = {}
        for deployment in deployments:
            for channel in deployment.channels:
                self._by_channel.setdefault(channel, {})[deployment.name] = deployment
            if deployment.endorsement_policy:
                self._rules[deployment.endorsement_policy] = parse_signature_policy(deployment.endorsement_policy)

    def version(self, channel_id: str, chaincode: str) -> str | None:
        deployment = self._by_channel.get(channel_id, {}).get(chaincode)
        return None if deployment is None else deployment.version

    def policies(self, channel_id: str) -> ChannelPolicies:
        return ChannelPolicies(self, channel_id)

    def endorsement_policy(self, channel_id: str, namespace: str) -> SignatureRule | str:
        deployment = self._by_channel.get(channel_id, {}).get(namespace)
        if deployment is None or not deployment.endorsement_policy:
            return APPLICATION_ENDORSEMENT
        return self._rules[deployment.endorsement_policy]


class ChannelPolicies:
    """The endorsement policies of one channel's namespaces, for its validator."""

    def __init__(self, definitions: ConfiguredDefinitions, channel_id: str) -> None:
        self._definitions = definitions
        self._channel_id = channel_id

    def policy_for(self, namespace: str) -> SignatureRule | str:
        return self._definitions.endorsement_policy(self._channel_id, namespace)
