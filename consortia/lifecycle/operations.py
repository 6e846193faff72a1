"""The lifecycle as an org's admin drives it: install on a peer, approve, check, commit,
query. The CLI (`consortia chaincode ...`) and `consortia network up` both use these.

Install and the installed-package queries are proposals without a channel, sent to
one peer's Endorser service (as Fabric's `peer lifecycle chaincode install` does).
The channel operations go through a peer's Gateway: approve is endorsed by the
admin's own org, commit by the orgs that approved, and both wait for their commit.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import grpc
from fabric_protos.peer import collection_pb2, peer_pb2_grpc
from fabric_protos.peer.lifecycle import lifecycle_pb2
from google.protobuf.message import Message

from consortia.client import CommitError, Gateway
from consortia.endpoint import NodeEndpoint
from consortia.errors import ConsortiaError
from consortia.grpcutil import channel
from consortia.lifecycle import definition as lc
from consortia.lifecycle.definition import LIFECYCLE, Definition
from consortia.lifecycle.package import CANNOT_START
from consortia.protoutil.proposal import create_proposal, sign_proposal

METADATA_FUNCTION = "org.hyperledger.fabric:GetMetadata"


class LifecycleCallError(ConsortiaError):
    """A peer refused a lifecycle call, or could not be reached."""


def definition(name: str, version: str, sequence: int, policy: str | None = None,
               init_required: bool = False,
               collections: collection_pb2.CollectionConfigPackage | None = None) -> Definition:
    """A definition from the options a person gives (policy: signature policy text, a
    channel policy path, or None for the channel's Endorsement policy; collections: as
    `consortia.lifecycle.collections.parse_collections_json` reads them)."""
    return lc.normalized(name, Definition(name=name, version=version, sequence=sequence,
                                          validation_parameter=lc.application_policy(policy),
                                          init_required=init_required, collections=collections))


async def _local(peer: NodeEndpoint, function: str, args: Message, timeout: float) -> bytes:
    proposal, _ = create_proposal("", LIFECYCLE, [function.encode(), args.SerializeToString()], peer.signer.serialize())
    signed = sign_proposal(proposal, peer.signer)
    async with channel(peer.address, root_ca=peer.tls_ca, client_cert=peer.client_cert,
                       client_key=peer.client_key) as ch:
        try:
            reply = await peer_pb2_grpc.EndorserStub(ch).ProcessProposal(signed, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            raise LifecycleCallError(f"{function} at {peer.address}: {exc.details()} ({exc.code().name})") from exc
    if reply.response.status != 200:
        raise LifecycleCallError(f"{function} at {peer.address}: {reply.response.message} "
                                 f"(status {reply.response.status})")
    return bytes(reply.response.payload)


async def install(peer: NodeEndpoint, package: bytes, timeout: float = 120) -> lifecycle_pb2.InstallChaincodeResult:
    payload = await _local(peer, lc.INSTALL, lifecycle_pb2.InstallChaincodeArgs(chaincode_install_package=package),
                           timeout)
    return lifecycle_pb2.InstallChaincodeResult.FromString(payload)


async def query_installed(peer: NodeEndpoint, timeout: float = 30) -> lifecycle_pb2.QueryInstalledChaincodesResult:
    payload = await _local(peer, lc.QUERY_INSTALLED_ALL, lifecycle_pb2.QueryInstalledChaincodesArgs(), timeout)
    return lifecycle_pb2.QueryInstalledChaincodesResult.FromString(payload)


async def get_installed_package(peer: NodeEndpoint, package_id: str, timeout: float = 60) -> bytes:
    """The package file installed on `peer` under `package_id`, as it was installed."""
    payload = await _local(peer, lc.GET_INSTALLED_PACKAGE,
                           lifecycle_pb2.GetInstalledChaincodePackageArgs(package_id=package_id), timeout)
    return bytes(lifecycle_pb2.GetInstalledChaincodePackageResult.FromString(payload).chaincode_install_package)


async def wait_until_running(peer: NodeEndpoint, channel_id: str, name: str, timeout: float) -> None:
    """Wait until `peer` runs chaincode `name` on the channel: until a proposal to it
    (the Contract API's GetMetadata, which changes nothing) gets the chaincode's own
    answer rather than the peer's refusal (not defined there yet, not running). It stops
    at once when the peer says the chaincode cannot start (a crash loop, a package it
    cannot unpack): waiting out `timeout` would only delay the same error."""
    deadline = asyncio.get_running_loop().time() + timeout
    last = "no answer"
    async with channel(peer.address, root_ca=peer.tls_ca, client_cert=peer.client_cert,
                       client_key=peer.client_key) as ch:
        stub = peer_pb2_grpc.EndorserStub(ch)
        while asyncio.get_running_loop().time() < deadline:
            proposal, _ = create_proposal(channel_id, name, [METADATA_FUNCTION.encode()], peer.signer.serialize())
            try:
                reply = await stub.ProcessProposal(sign_proposal(proposal, peer.signer), timeout=timeout)
            except grpc.aio.AioRpcError as exc:
                last = f"{exc.details()} ({exc.code().name})"
            else:
                if reply.response.status == 200 or reply.payload:  # the chaincode itself answered
                    return
                last = reply.response.message
                if CANNOT_START in last:  # the peer says waiting longer will not help
                    raise LifecycleCallError(f"chaincode {name} is not running on {peer.address}: {last}")
            await asyncio.sleep(0.2)
    raise LifecycleCallError(f"chaincode {name} is not running on {peer.address} after {timeout:g}s: {last}")


def _submit(gateway: Gateway, channel_id: str, function: str, args: Message,
            endorsing_orgs: Sequence[str]) -> int:
    """Submit a `_lifecycle` transaction and wait for it to commit; its block number."""
    contract = gateway.get_network(channel_id).get_contract(LIFECYCLE)
    submitted = contract.submit_async(function, [args.SerializeToString()], None, list(endorsing_orgs))
    status = submitted.get_status()
    if not status.successful:
        raise CommitError(status.transaction_id, status.code, status.code_name)
    return status.block_number


def approve(gateway: Gateway, channel_id: str, proposed: Definition, package_id: str | None, msp_id: str) -> int:
    """Approve `proposed` for `msp_id` (the gateway's signer must be its admin); the block."""
    args = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs(
        sequence=proposed.sequence, name=proposed.name, version=proposed.version,
        endorsement_plugin=proposed.endorsement_plugin, validation_plugin=proposed.validation_plugin,
        validation_parameter=proposed.validation_parameter, collections=proposed.collections,
        init_required=proposed.init_required,
    )
    if package_id:
        args.source.local_package.package_id = package_id
    else:
        args.source.unavailable.SetInParent()
    return _submit(gateway, channel_id, lc.APPROVE, args, [msp_id])


def _readiness_args(proposed: Definition) -> lifecycle_pb2.CheckCommitReadinessArgs:
    return lifecycle_pb2.CheckCommitReadinessArgs(
        sequence=proposed.sequence, name=proposed.name, version=proposed.version,
        endorsement_plugin=proposed.endorsement_plugin, validation_plugin=proposed.validation_plugin,
        validation_parameter=proposed.validation_parameter, collections=proposed.collections,
        init_required=proposed.init_required,
    )


def check_commit_readiness(gateway: Gateway, channel_id: str,
                           proposed: Definition) -> lifecycle_pb2.CheckCommitReadinessResult:
    contract = gateway.get_network(channel_id).get_contract(LIFECYCLE)
    payload = contract.evaluate(lc.CHECK_COMMIT_READINESS, [_readiness_args(proposed).SerializeToString()])
    return lifecycle_pb2.CheckCommitReadinessResult.FromString(payload)


def commit(gateway: Gateway, channel_id: str, proposed: Definition, endorsing_orgs: Sequence[str]) -> int:
    """Commit `proposed`, endorsed by `endorsing_orgs` (orgs that approved it); the block."""
    args = lifecycle_pb2.CommitChaincodeDefinitionArgs()
    args.CopyFrom(proposed)
    return _submit(gateway, channel_id, lc.COMMIT, args, endorsing_orgs)


def query_approved(gateway: Gateway, channel_id: str, name: str,
                   sequence: int = 0) -> lifecycle_pb2.QueryApprovedChaincodeDefinitionResult:
    """The gateway's org's approval of `name` (at `sequence`; 0: the next one, else the
    committed one). An approval is private data of the org: only its own peers have it."""
    contract = gateway.get_network(channel_id).get_contract(LIFECYCLE)
    args = lifecycle_pb2.QueryApprovedChaincodeDefinitionArgs(name=name, sequence=sequence)
    payload = contract.evaluate(lc.QUERY_APPROVED, [args.SerializeToString()])
    return lifecycle_pb2.QueryApprovedChaincodeDefinitionResult.FromString(payload)


def query_committed(gateway: Gateway, channel_id: str, name: str) -> lifecycle_pb2.QueryChaincodeDefinitionResult | None:
    """The committed definition of `name`, or None when it has none."""
    contract = gateway.get_network(channel_id).get_contract(LIFECYCLE)
    args = lifecycle_pb2.QueryChaincodeDefinitionArgs(name=name)
    try:
        payload = contract.evaluate(lc.QUERY_DEFINITION, [args.SerializeToString()])
    except ConsortiaError as exc:
        if "is not defined" in str(exc):
            return None
        raise
    return lifecycle_pb2.QueryChaincodeDefinitionResult.FromString(payload)


def query_all_committed(gateway: Gateway, channel_id: str) -> lifecycle_pb2.QueryChaincodeDefinitionsResult:
    contract = gateway.get_network(channel_id).get_contract(LIFECYCLE)
    payload = contract.evaluate(lc.QUERY_DEFINITIONS, [lifecycle_pb2.QueryChaincodeDefinitionsArgs().SerializeToString()])
    return lifecycle_pb2.QueryChaincodeDefinitionsResult.FromString(payload)
