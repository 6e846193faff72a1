"""`_lifecycle`: the system chaincode through which orgs install, approve and commit
chaincode definitions, called with signed proposals as in Fabric 2.x.

Arguments are [function name, serialized <Function>Args]; the response payload is the
serialized <Function>Result (fabric_protos.peer.lifecycle). Install and the queries of
installed packages concern this peer alone: proposals without a channel, from an admin
of the peer's org. The rest run on a channel, in a simulation like any chaincode:

- approve (an admin of this peer's org) writes the org's approval of a definition,
  with the package it will run, into the org's implicit collection (see `state`); the
  sequence must be the next one, or the committed one (to choose a package for it
  after the fact);
- check commit readiness says which orgs approved the definition as proposed, from
  the hashes of their approvals;
- commit checks that this org approved, and that the approving orgs could satisfy the
  channel's LifecycleEndorsement policy (naming the orgs still missing if not), then
  writes the definition. Validation then requires the commit to be endorsed according
  to that policy, so endorsers of orgs that did not approve cannot make it valid.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from fabric_protos.peer.lifecycle import lifecycle_pb2
from google.protobuf.message import DecodeError, Message

from consortia.channelconfig.bundle import ChannelBundle
from consortia.errors import ConsortiaError
from consortia.lifecycle import definition as lc
from consortia.lifecycle.collections import check_collections, implicit_collection
from consortia.lifecycle.definition import LIFECYCLE, Definition, DefinitionError, normalized
from consortia.lifecycle.package import PackageError
from consortia.msp.identity import Identity, Role
from consortia.policy.paths import LIFECYCLE_ENDORSEMENT
from peer.endorser.simulator import SimulationError, TxSimulator
from peer.lifecycle import state
from peer.lifecycle.definitions import Definitions
from peer.lifecycle.store import PackageStore

_NAME = re.compile(r"^[a-zA-Z0-9]+([\-_][a-zA-Z0-9]+)*$")  # Fabric's chaincode-name rule


class LifecycleError(ConsortiaError):
    """A lifecycle call that fails; `status` as the chaincode response would carry it."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ChannelCall:
    """A `_lifecycle` call on a channel: who asks, and the simulation it runs in."""

    bundle: ChannelBundle
    creator: Identity
    simulator: TxSimulator


@dataclass(frozen=True)
class _OrgToken:
    """Stands for "some endorser of this org" when asking what a set of orgs satisfies."""

    msp_id: str

    @property
    def serialized(self) -> bytes:
        return self.msp_id.encode()

    @property
    def common_name(self) -> str:
        return "approval"


class _ByOrg:
    """A principal checker for which belonging to an org is enough."""

    def satisfies(self, identity: Identity, msp_id: str, role: Role) -> bool:
        return identity.msp_id == msp_id


def _parse(message: type[Message], args: list[bytes], function: str) -> Message:
    if len(args) != 1:
        raise LifecycleError(f"{function} takes one argument (serialized {message.__name__}), got {len(args)}", 400)
    try:
        return message.FromString(args[0])
    except DecodeError as exc:
        raise LifecycleError(f"{function}: the argument is not a {message.__name__}: {exc}", 400) from exc


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise LifecycleError(f"invalid chaincode name {name!r}: letters and digits, joined by single '-' or '_'", 400)


class Lifecycle:
    def __init__(self, msp_id: str, store: PackageStore, definitions: Definitions,
                 channel_ids: Callable[[], Iterable[str]], on_install: Callable[[], None] | None = None) -> None:
        self.msp_id = msp_id
        self.store = store
        self.definitions = definitions
        self.channel_ids = channel_ids
        self.on_install = on_install

    # ----- this peer: installed packages ---------------------------------------------

    def local(self, function: str, args: list[bytes]) -> bytes:
        """Run a peer-local function (the caller checked the creator is a local admin)."""
        if function == lc.INSTALL:
            install = cast(lifecycle_pb2.InstallChaincodeArgs, _parse(lifecycle_pb2.InstallChaincodeArgs, args, function))
            try:
                package, new = self.store.install(install.chaincode_install_package)
            except PackageError as exc:
                raise LifecycleError(f"cannot install: {exc}", 400) from exc
            if not new:
                raise LifecycleError(f"chaincode already successfully installed (package ID '{package.package_id}')")
            if self.on_install is not None:
                self.on_install()
            return _bytes(lifecycle_pb2.InstallChaincodeResult(package_id=package.package_id, label=package.label))
        if function == lc.QUERY_INSTALLED_ALL:
            _parse(lifecycle_pb2.QueryInstalledChaincodesArgs, args, function)
            result = lifecycle_pb2.QueryInstalledChaincodesResult()
            for package in self.store.list():
                entry = result.installed_chaincodes.add(package_id=package.package_id, label=package.label)
                self._add_references(entry.references, package.package_id)
            return _bytes(result)
        if function == lc.QUERY_INSTALLED:
            query = cast(lifecycle_pb2.QueryInstalledChaincodeArgs,
                         _parse(lifecycle_pb2.QueryInstalledChaincodeArgs, args, function))
            found = self.store.get(query.package_id)
            if found is None:
                raise LifecycleError(f"chaincode install package '{query.package_id}' not found", 404)
            single = lifecycle_pb2.QueryInstalledChaincodeResult(package_id=found.package_id, label=found.label)
            self._add_references(single.references, found.package_id)
            return _bytes(single)
        if function == lc.GET_INSTALLED_PACKAGE:
            query = cast(lifecycle_pb2.GetInstalledChaincodePackageArgs,
                         _parse(lifecycle_pb2.GetInstalledChaincodePackageArgs, args, function))
            stored = self.store.get(query.package_id)
            if stored is None:
                raise LifecycleError(f"chaincode install package '{query.package_id}' not found", 404)
            return _bytes(lifecycle_pb2.GetInstalledChaincodePackageResult(chaincode_install_package=stored.raw))
        raise LifecycleError(f"unknown _lifecycle function {function!r} without a channel; "
                             f"those are {', '.join(lc.LOCAL_FUNCTIONS)}", 400)

    def _add_references(self, references: Any, package_id: str) -> None:
        """Add to a result's references map the committed definitions, by channel, that
        this org runs with the package (both query results share the map's shape)."""
        for channel in self.channel_ids():
            for definition, package in self.definitions.all_committed(channel):
                if package == package_id:
                    references[channel].chaincodes.add(name=definition.name, version=definition.version)

    # ----- a channel: definitions ----------------------------------------------------

    def invoke(self, function: str, args: list[bytes], call: ChannelCall) -> bytes:
        sim = call.simulator

        def get(key: str) -> bytes | None:
            return sim.get_state(LIFECYCLE, key)

        def hashes(msp_id: str, key: str) -> bytes | None:
            return sim.get_private_hash(LIFECYCLE, implicit_collection(msp_id), key)

        try:
            if function == lc.APPROVE:
                return self._approve(cast(lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs,
                                          _parse(lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs, args, function)),
                                     call, get)
            if function == lc.CHECK_COMMIT_READINESS:
                readiness = cast(lifecycle_pb2.CheckCommitReadinessArgs,
                                 _parse(lifecycle_pb2.CheckCommitReadinessArgs, args, function))
                _check_name(readiness.name)
                proposed = self._next(normalized(readiness.name, readiness), state.committed(get, readiness.name))
                found = state.approvals(hashes, proposed, call.bundle.application_msp_ids)
                result = lifecycle_pb2.CheckCommitReadinessResult(approvals=found.approved)
                for org, fields in found.mismatches.items():
                    result.mismatches[org].items.extend(fields)
                return _bytes(result)
            if function == lc.COMMIT:
                return self._commit(cast(lifecycle_pb2.CommitChaincodeDefinitionArgs,
                                         _parse(lifecycle_pb2.CommitChaincodeDefinitionArgs, args, function)),
                                    call, get, hashes)
            if function == lc.QUERY_DEFINITION:
                query = cast(lifecycle_pb2.QueryChaincodeDefinitionArgs,
                             _parse(lifecycle_pb2.QueryChaincodeDefinitionArgs, args, function))
                current = state.committed(get, query.name)
                if current is None:
                    raise LifecycleError(f"namespace {query.name} is not defined", 404)
                found = state.approvals(hashes, current, call.bundle.application_msp_ids)
                return _bytes(lifecycle_pb2.QueryChaincodeDefinitionResult(
                    sequence=current.sequence, version=current.version, endorsement_plugin=current.endorsement_plugin,
                    validation_plugin=current.validation_plugin, validation_parameter=current.validation_parameter,
                    collections=current.collections, init_required=current.init_required, approvals=found.approved))
            if function == lc.QUERY_DEFINITIONS:
                _parse(lifecycle_pb2.QueryChaincodeDefinitionsArgs, args, function)
                listing = lifecycle_pb2.QueryChaincodeDefinitionsResult()
                scan = sim.range_scan(LIFECYCLE, state.DEFINITIONS, state.DEFINITIONS[:-1] + "0")
                more = True
                while more:
                    batch, more = scan.next_batch(100)
                    for kv in batch:
                        d = Definition.FromString(kv.value)
                        listing.chaincode_definitions.add(
                            name=d.name, sequence=d.sequence, version=d.version, endorsement_plugin=d.endorsement_plugin,
                            validation_plugin=d.validation_plugin, validation_parameter=d.validation_parameter,
                            collections=d.collections, init_required=d.init_required)
                return _bytes(listing)
            if function == lc.QUERY_APPROVED:
                return self._query_approved(cast(lifecycle_pb2.QueryApprovedChaincodeDefinitionArgs,
                                                 _parse(lifecycle_pb2.QueryApprovedChaincodeDefinitionArgs, args, function)),
                                            call, get)
        except DefinitionError as exc:
            raise LifecycleError(str(exc), 400) from exc
        if function in lc.LOCAL_FUNCTIONS:
            raise LifecycleError(f"{function} concerns one peer, not a channel: send it without a channel", 400)
        raise LifecycleError(f"unknown _lifecycle function {function!r}", 400)

    @staticmethod
    def _next(proposed: Definition, current: Definition | None) -> Definition:
        """`proposed`, if its sequence is the next one after the `current` definition."""
        expected = (current.sequence if current else 0) + 1
        if proposed.sequence != expected:
            raise LifecycleError(f"requested sequence is {proposed.sequence}, but new definition must be sequence "
                                 f"{expected}", 400)
        return proposed

    def _approve(self, args: lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs, call: ChannelCall,
                 get: state.Getter) -> bytes:
        _check_name(args.name)
        if not call.bundle.msp_manager.satisfies(call.creator, self.msp_id, Role.ADMIN):
            raise LifecycleError(f"access denied: only an admin of {self.msp_id} may approve a definition for "
                                 f"{self.msp_id}; the creator is {call.creator.msp_id}:{call.creator.common_name}", 403)
        proposed = normalized(args.name, args)
        current = state.committed(get, args.name)
        _check_collections(proposed, current, call.bundle)
        current_sequence = current.sequence if current else 0
        if current is not None and proposed.sequence == current_sequence:
            diff = lc.differences(current, proposed)
            if diff:
                raise LifecycleError(f"attempted to redefine the current committed sequence ({current_sequence}) of "
                                     f"{args.name} with different parameters: {', '.join(diff)}", 400)
        elif proposed.sequence != current_sequence + 1:
            raise LifecycleError(f"requested sequence is {proposed.sequence}, but new definition must be sequence "
                                 f"{current_sequence + 1}", 400)
        source = lifecycle_pb2.ChaincodeSource()
        if args.HasField("source"):
            source.CopyFrom(args.source)
        else:
            source.unavailable.SetInParent()
        own = implicit_collection(self.msp_id)
        for key, value in state.approval_writes(proposed, source).items():
            call.simulator.set_private(LIFECYCLE, own, key, value)
        return _bytes(lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgResult())

    def _commit(self, args: lifecycle_pb2.CommitChaincodeDefinitionArgs, call: ChannelCall, get: state.Getter,
                hashes: state.HashGetter) -> bytes:
        _check_name(args.name)
        current = state.committed(get, args.name)
        proposed = self._next(normalized(args.name, args), current)
        _check_collections(proposed, current, call.bundle)
        found = state.approvals(hashes, proposed, call.bundle.application_msp_ids)
        if not found.approved.get(self.msp_id):
            raise LifecycleError(f"chaincode definition not agreed to by this org ({self.msp_id})"
                                 + _mismatch_note(found.mismatches.get(self.msp_id)))
        tokens = [cast(Identity, _OrgToken(org)) for org in found.orgs]
        verdict = call.bundle.policies.with_checker(_ByOrg()).evaluate(LIFECYCLE_ENDORSEMENT, tokens)
        if not verdict:
            notes = "".join(f"; {org} approved different {', '.join(fields)}" for org, fields in found.mismatches.items())
            raise LifecycleError(
                f"chaincode definition {proposed.name} sequence {proposed.sequence} cannot be committed: the approvals "
                f"of {', '.join(found.orgs)} do not satisfy {LIFECYCLE_ENDORSEMENT}; missing approvals from "
                f"{', '.join(found.missing) or 'nobody'}{notes}")
        call.simulator.set_state(LIFECYCLE, state.definition_key(proposed.name), lc.encode(proposed))
        return _bytes(lifecycle_pb2.CommitChaincodeDefinitionResult())

    def _query_approved(self, args: lifecycle_pb2.QueryApprovedChaincodeDefinitionArgs, call: ChannelCall,
                        get: state.Getter) -> bytes:
        """This org's approval, from its implicit collection: only its own peers can answer."""
        collection = implicit_collection(self.msp_id)

        def own(key: str) -> bytes | None:
            try:
                return call.simulator.get_private(LIFECYCLE, collection, key)
            except SimulationError as exc:
                raise LifecycleError(f"{self.msp_id}'s approval is not available on this peer yet: {exc}") from exc

        sequences = [args.sequence] if args.sequence else []
        if not sequences:
            current = state.committed(get, args.name)
            base = current.sequence if current else 0
            sequences = [base + 1, base] if base else [1]
        for sequence in sequences:
            record = state.own_approval(own, args.name, sequence)
            if record is not None:
                return _bytes(lifecycle_pb2.QueryApprovedChaincodeDefinitionResult(
                    sequence=record.sequence, version=record.version, endorsement_plugin=record.endorsement_plugin,
                    validation_plugin=record.validation_plugin, validation_parameter=record.validation_parameter,
                    collections=record.collections, init_required=record.init_required, source=record.source))
        raise LifecycleError(f"{self.msp_id} has not approved a definition of {args.name}"
                             + (f" at sequence {args.sequence}" if args.sequence else ""), 404)


def _check_collections(proposed: Definition, current: Definition | None, bundle: ChannelBundle) -> None:
    """Fabric's rules for the collections of a definition, on this channel, after `current`
    (unless `proposed` is `current` approved again)."""
    before = current.collections if current is not None and current.sequence < proposed.sequence else None
    check_collections(proposed.collections, bundle.application_msp_ids, before)


def _mismatch_note(fields: list[str] | None) -> str:
    return f": its approval differs in {', '.join(fields)}" if fields else ""


def _bytes(message: Message) -> bytes:
    return bytes(message.SerializeToString(deterministic=True))

