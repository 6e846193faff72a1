"""Chaincode definitions as the endorser, the validator and the gateway see them.

A definition committed through `_lifecycle` is what counts: its version, its
endorsement policy, and the package this peer's org approved to run it. Chaincodes
listed in the peer's configuration (`chaincodes:`) with no committed definition are
still served, with the version and policy the configuration gives: Fabric's
development mode, which the tests and benchmarks use to skip the lifecycle. Every peer
of a channel must list the same ones, or peers would validate differently.

Committed definitions are read from the channel's state (the package from this org's
approval, which is private data: see `peer.lifecycle.state`) and cached; the cache is
dropped whenever a block writes to `_lifecycle` (its public state or a collection),
and `on_change` is called so the peer can start (or stop) chaincode processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from fabric_protos.peer import collection_pb2

from consortia.config.node import ChaincodeDeployment
from consortia.lifecycle.collections import find_config, implicit_collection, member_msp_ids
from consortia.lifecycle.definition import LIFECYCLE, Definition, DefinitionError, endorsement_rule
from consortia.policy import SignatureRule, parse_signature_policy
from consortia.policy.paths import APPLICATION_ENDORSEMENT, LIFECYCLE_ENDORSEMENT
from peer.ledger.pvtdata import private_ns, split_derived
from peer.ledger.statedb import StateReader
from peer.lifecycle import state

log = logging.getLogger(__name__)

# A read connection to a channel's committed state (None: the channel is not joined).
Readers = Callable[[str], AbstractContextManager[StateReader] | None]


@dataclass(frozen=True)
class Route:
    """Where a proposal for a defined chaincode goes."""

    version: str
    handler: str  # the chaincode id of the process that runs it ("" when there is none)
    sequence: int = 0  # 0: defined in the peer's configuration
    init_required: bool = False
    problem: str = ""  # why it cannot run here, when handler is ""


class Definitions:
    def __init__(self, msp_id: str, deployments: Iterable[ChaincodeDeployment], readers: Readers,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.msp_id = msp_id
        self._readers = readers
        self._on_change = on_change
        self._configured: dict[str, dict[str, ChaincodeDeployment]] = {}
        self._rules: dict[str, SignatureRule] = {}
        for deployment in deployments:
            for channel in deployment.channels:
                self._configured.setdefault(channel, {})[deployment.name] = deployment
            if deployment.endorsement_policy:
                self._rules[deployment.endorsement_policy] = parse_signature_policy(deployment.endorsement_policy)
        self._committed: dict[str, dict[str, tuple[Definition, str | None] | None]] = {}
        self._policies: dict[bytes, SignatureRule | str] = {}

    # ----- committed definitions ---------------------------------------------------

    def committed(self, channel_id: str, name: str) -> tuple[Definition, str | None] | None:
        """The committed definition of `name`, and the package this org runs for it."""
        cache = self._committed.setdefault(channel_id, {})
        if name in cache:
            return cache[name]
        found: tuple[Definition, str | None] | None = None
        reader = self._readers(channel_id)
        if reader is not None:
            with reader as state_reader:
                def get(key: str, namespace: str = LIFECYCLE) -> bytes | None:
                    value = state_reader.get(namespace, key)
                    return None if value is None else value.value

                def own(key: str) -> bytes | None:  # this org's approvals (private data)
                    return get(key, private_ns(LIFECYCLE, implicit_collection(self.msp_id)))

                definition = state.committed(get, name)
                if definition is not None:
                    found = (definition, state.package_of(own, definition)
                             or state.legacy_package_of(get, definition, self.msp_id))
        cache[name] = found
        return found

    def all_committed(self, channel_id: str) -> Iterator[tuple[Definition, str | None]]:
        reader = self._readers(channel_id)
        if reader is None:
            return
        with reader as state_reader:
            names = [key[len(state.DEFINITIONS):] for key, _ in
                     state_reader.range(LIFECYCLE, state.DEFINITIONS, state.DEFINITIONS[:-1] + "0")]
        for name in names:
            found = self.committed(channel_id, name)
            if found is not None:
                yield found

    def changed(self, channel_id: str, updated: Iterable[tuple[str, str]]) -> None:
        """A block committed: forget what it may have changed."""
        if any(split_derived(ns)[0] == LIFECYCLE for ns, _ in updated):  # approvals are private data
            self._committed.pop(channel_id, None)
            if self._on_change is not None:
                self._on_change(channel_id)

    # ----- what the endorser asks -----------------------------------------------------

    def route(self, channel_id: str, name: str) -> Route | None:
        found = self.committed(channel_id, name)
        if found is not None:
            definition, package = found
            problem = "" if package else (
                f"chaincode {name} is defined on channel {channel_id} (sequence {definition.sequence}), but "
                f"{self.msp_id} has not approved it with a package to run: install the package on this peer "
                f"and approve the definition with its package id")
            return Route(definition.version, package or "", definition.sequence, definition.init_required, problem)
        deployment = self._configured.get(channel_id, {}).get(name)
        if deployment is None:
            return None
        return Route(deployment.version, deployment.name)

    # ----- what the validator and the gateway ask ---------------------------------

    def collection(self, channel_id: str, namespace: str, name: str) -> collection_pb2.StaticCollectionConfig | None:
        """A collection of the committed definition, or an implicit one (chaincodes of
        the peer's configuration have only those)."""
        found = self.committed(channel_id, namespace)
        return find_config(namespace, found[0].collections if found is not None else None, name)

    def policies(self, channel_id: str) -> ChannelPolicies:
        return ChannelPolicies(self, channel_id)

    def endorsement_policy(self, channel_id: str, namespace: str) -> SignatureRule | str:
        if namespace == LIFECYCLE:
            return LIFECYCLE_ENDORSEMENT
        found = self.committed(channel_id, namespace)
        if found is not None:
            parameter = found[0].validation_parameter
            rule = self._policies.get(parameter)
            if rule is None:
                try:
                    rule = endorsement_rule(parameter)
                except DefinitionError:
                    log.error("[%s] chaincode %s has an unreadable endorsement policy; using the channel's",
                              channel_id, namespace)
                    rule = APPLICATION_ENDORSEMENT
                self._policies[parameter] = rule
            return rule
        deployment = self._configured.get(channel_id, {}).get(namespace)
        if deployment is None or not deployment.endorsement_policy:
            return APPLICATION_ENDORSEMENT
        return self._rules[deployment.endorsement_policy]


class ChannelPolicies:
    """The endorsement policies of one channel's namespaces, for its validator and gateway."""

    def __init__(self, definitions: Definitions, channel_id: str) -> None:
        self._definitions = definitions
        self._channel_id = channel_id

    def policy_for(self, namespace: str) -> SignatureRule | str:
        return self._definitions.endorsement_policy(self._channel_id, namespace)

    def collection(self, namespace: str, name: str) -> collection_pb2.StaticCollectionConfig | None:
        return self._definitions.collection(self._channel_id, namespace, name)

    def defines_collections(self, namespace: str) -> bool:
        found = self._definitions.committed(self._channel_id, namespace)
        return found is not None and len(found[0].collections.config) > 0


class LedgerCollections:
    """The ledger's view of collections, read from the very state a block commits over
    (so that replaying a block after a crash decides as its commit did)."""

    def __init__(self, msp_id: str) -> None:
        self.msp_id = msp_id

    def _config(self, reader: StateReader, namespace: str, name: str) -> collection_pb2.StaticCollectionConfig | None:
        def get(key: str) -> bytes | None:
            value = reader.get(LIFECYCLE, key)
            return None if value is None else value.value

        definition = state.committed(get, namespace)
        return find_config(namespace, definition.collections if definition is not None else None, name)

    def keeps(self, reader: StateReader, namespace: str, collection: str) -> bool:
        config = self._config(reader, namespace, collection)
        return config is not None and self.msp_id in member_msp_ids(config)

    def block_to_live(self, reader: StateReader, namespace: str, collection: str) -> int:
        config = self._config(reader, namespace, collection)
        return 0 if config is None else int(config.block_to_live)
