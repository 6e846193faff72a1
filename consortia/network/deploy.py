"""Deploying the chaincodes a network file lists, through the lifecycle, as each org's
admin would: package, install on every peer, approve for every org, commit, and wait
until every peer runs the chaincode.

Everything that can happen at once does: installs on all peers, the approvals of all
orgs (so they share a block), the readiness probes. Each step first looks at what is
already there, so running it again (a second `network up`) does nothing new, and a
definition whose sequence in the file went up is upgraded.

A chaincode's `init` transaction runs exactly once per definition that needs it, even
if `up` stops half-way: before the definition is committed, the init is written down as
owed, with the nonce that fixes its transaction id (`chaincode/init-pending/`); the
record goes once the init has committed. An `up` that finds a record runs the init with
that nonce: if an earlier `up` got it committed, the endorsers refuse the known id, and
its commit status says how it went.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

from fabric_protos.peer.lifecycle import lifecycle_pb2

from consortia.client import CommitStatusError, EndorseError, Gateway, Status, connect
from consortia.client import Network as ChannelOfGateway
from consortia.config.network import Chaincode, ChaincodeInit, Channel, Network, Organization
from consortia.cryptogen import ADMIN, CryptoLayout
from consortia.endpoint import NodeEndpoint
from consortia.errors import ConsortiaError
from consortia.lifecycle import definition as lc
from consortia.lifecycle import operations as ops
from consortia.lifecycle.definition import Definition
from consortia.lifecycle.package import package_python, read_package
from consortia.msp.layout import load_signing_identity
from consortia.network.layout import write_json
from consortia.protoutil.txid import new_nonce

READY_TIMEOUT = 60.0
OWED_INITS = "init-pending"
# How long to ask whether an init the endorsers refused committed in an earlier `up`.
EARLIER_COMMIT_SECONDS = 3.0


class DeployError(ConsortiaError):
    """A chaincode of the network file could not be deployed."""


class _Orgs:
    """Each org's admin, and its peers as lifecycle endpoints."""

    def __init__(self, network: Network, crypto: Path) -> None:
        self.network = network
        self.layout = CryptoLayout(crypto, network)
        ports = network.node_ports()
        host = f"[{network.host}]" if ":" in network.host else network.host
        self.peers: dict[str, list[NodeEndpoint]] = {}
        for org in network.organizations:
            org_layout = self.layout.org(org.msp_id)
            signer = load_signing_identity(org_layout.user_dir(ADMIN) / "msp", org.msp_id)
            tls_ca = org_layout.tlsca_cert.read_bytes() if network.tls else None
            self.peers[org.msp_id] = [
                NodeEndpoint(f"{host}:{ports[(org.msp_id, peer.name)].listen}", signer, tls_ca)
                for peer in org.peers
            ]

    def gateway(self, org: Organization) -> Gateway:
        """A gateway to the org's first peer, signing as the org's admin."""
        peer = self.peers[org.msp_id][0]
        return connect(peer.address, signer=peer.signer, tls_root_ca=peer.tls_ca)

    def members_with_peers(self, channel: Channel) -> list[Organization]:
        return [self.network.organization(m) for m in channel.organizations if self.network.organization(m).peers]


def _label(chaincode: Chaincode) -> str:
    return f"{chaincode.name}_{chaincode.version}"


async def deploy_chaincodes(network: Network, crypto: Path, work_dir: Path, report: Callable[[str], None]) -> None:
    """Package, install, approve and commit each channel's chaincodes; wait until every
    peer of the channel runs them. What is already done is skipped."""
    wanted = [(channel, cc) for channel in network.channels for cc in channel.chaincodes]
    if not wanted:
        return
    orgs = _Orgs(network, crypto)
    packages: dict[tuple[str, str], bytes] = {}
    work_dir.mkdir(parents=True, exist_ok=True)
    for channel, cc in wanted:
        raw = package_python(cc.path, _label(cc))
        (work_dir / f"{_label(cc)}.tar.gz").write_bytes(raw)
        packages[(channel.name, cc.name)] = raw
    await _install(orgs, wanted, packages, report)
    for channel in network.channels:
        if channel.chaincodes:
            await _define(orgs, channel, packages, work_dir, report)
    await _wait_ready(orgs, wanted, report)
    for channel, cc in wanted:
        owed = _owed_init(work_dir, channel, cc)
        if not owed.exists():
            continue
        if cc.init is None:  # the network file no longer asks for one
            owed.unlink()
            continue
        nonce, _ = _owed_record(owed)
        await asyncio.to_thread(_initialize, orgs, channel, cc, cc.init, nonce, report)
        owed.unlink()


def _owed_init(work_dir: Path, channel: Channel, cc: Chaincode) -> Path:
    return work_dir / OWED_INITS / f"{channel.name}.{cc.name}.json"


def _owed_record(owed: Path) -> tuple[bytes, int]:
    """The nonce and the definition sequence an owed-init record holds."""
    try:
        record = json.loads(owed.read_text())
        return bytes.fromhex(record["nonce"]), int(record["sequence"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DeployError(f"{owed} does not record an owed init transaction ({exc}); remove it, and run the "
                          "chaincode's init by hand if it has not run") from exc


async def _install(orgs: _Orgs, wanted: list[tuple[Channel, Chaincode]], packages: dict[tuple[str, str], bytes],
                   report: Callable[[str], None]) -> None:
    targets: dict[str, tuple[NodeEndpoint, set[bytes]]] = {}
    for channel, cc in wanted:
        for org in orgs.members_with_peers(channel):
            for peer in orgs.peers[org.msp_id]:
                targets.setdefault(peer.address, (peer, set()))[1].add(packages[(channel.name, cc.name)])

    async def install_on(peer: NodeEndpoint, raws: set[bytes]) -> int:
        installed = {c.package_id for c in (await ops.query_installed(peer)).installed_chaincodes}
        missing = [raw for raw in raws if read_package(raw).package_id not in installed]
        for raw in missing:
            await ops.install(peer, raw)
        return len(missing)

    counts = await asyncio.gather(*(install_on(peer, raws) for peer, raws in targets.values()))
    report(f"installed {sum(counts)} package(s) on {len(targets)} peer(s)"
           + ("" if sum(counts) else " (all were installed already)"))


async def _define(orgs: _Orgs, channel: Channel, packages: dict[tuple[str, str], bytes], work_dir: Path,
                  report: Callable[[str], None]) -> None:
    """Approve and commit the definitions the network file is ahead of, first writing
    down the init transactions they will owe."""
    members = orgs.members_with_peers(channel)
    todo: list[tuple[Chaincode, Definition, str]] = []
    with orgs.gateway(members[0]) as gateway:
        for cc in channel.chaincodes:
            committed = await asyncio.to_thread(ops.query_committed, gateway, channel.name, cc.name)
            current = committed.sequence if committed is not None else 0
            package_id = read_package(packages[(channel.name, cc.name)]).package_id
            wanted = ops.definition(cc.name, cc.version, cc.sequence, cc.endorsement_policy, cc.init_required,
                                    cc.collections())
            if committed is not None and current >= cc.sequence:
                if note := await asyncio.to_thread(_drift, orgs, channel, cc, committed, wanted, package_id):
                    report(note)
                continue
            if cc.sequence != current + 1:
                raise DeployError(f"channel {channel.name}: chaincode {cc.name} is at sequence {current}; the network "
                                  f"file asks for {cc.sequence}, but the next sequence must be {current + 1}")
            todo.append((cc, wanted, package_id))
    if not todo:
        report(f"channel {channel.name}: chaincodes already defined")
        return
    for cc, _, _ in todo:
        owed = _owed_init(work_dir, channel, cc)
        if cc.init is None or not (cc.sequence == 1 or cc.init_required):
            continue
        if not owed.exists() or _owed_record(owed)[1] != cc.sequence:  # a new definition owes its own init
            write_json(owed, {"nonce": new_nonce().hex(), "sequence": cc.sequence})

    def approve_all(org: Organization) -> None:
        with orgs.gateway(org) as gateway:
            for _, definition, package_id in todo:
                ops.approve(gateway, channel.name, definition, package_id, org.msp_id)

    await asyncio.gather(*(asyncio.to_thread(approve_all, org) for org in members))
    report(f"channel {channel.name}: {len(members)} org(s) approved "
           + ", ".join(f"{cc.name} {cc.version} (sequence {cc.sequence})" for cc, _, _ in todo))

    # The commit is endorsed by a peer of each org, and each reads every approval: a peer
    # that has not yet committed the block of the last approval would endorse other read
    # sets, and the gateway would refuse the mismatch. So first every peer sees them all.
    approvers = [org.msp_id for org in members]
    await asyncio.gather(*(asyncio.to_thread(_wait_approved, peer, channel.name, [d for _, d, _ in todo], approvers)
                           for org in members for peer in orgs.peers[org.msp_id]))

    def commit_all() -> None:
        with orgs.gateway(members[0]) as gateway:
            for _, definition, _ in todo:
                ops.commit(gateway, channel.name, definition, [org.msp_id for org in members])

    await asyncio.to_thread(commit_all)
    report(f"channel {channel.name}: committed " + ", ".join(cc.name for cc, _, _ in todo))


# The definition's fields the network file calls otherwise.
_FIELD_NAMES = {"validation_parameter": "endorsement_policy"}


def _drift(orgs: _Orgs, channel: Channel, cc: Chaincode, committed: lifecycle_pb2.QueryChaincodeDefinitionResult,
           wanted: Definition, package_id: str) -> str | None:
    """What to tell the user when the network file no longer describes the chaincode the
    channel runs at the sequence it names (edited code or fields, same sequence), or names
    an older sequence than the channel's: `up` changes nothing then, and says so."""
    where = f"channel {channel.name}: chaincode {cc.name}"
    if committed.sequence > cc.sequence:
        return (f"{where} is at sequence {committed.sequence} (version {committed.version}), ahead of the network "
                f"file's sequence {cc.sequence}: left as it is")
    current = lc.normalized(cc.name, committed)
    changed = [_FIELD_NAMES.get(f, f) for f in lc.differences(current, wanted)]
    for org in orgs.members_with_peers(channel):
        try:
            with orgs.gateway(org) as gateway:
                approved = ops.query_approved(gateway, channel.name, cc.name, committed.sequence)
        except ConsortiaError:
            continue  # this org did not approve that sequence (the others sufficed)
        if approved.source.local_package.package_id != package_id:
            changed.append("code")
            break
    if not changed:
        return None
    listed = ", ".join(changed[:-1]) + (" and " if len(changed) > 1 else "") + changed[-1]
    return (f"{where} stays at sequence {committed.sequence} (version {committed.version}): the network file's "
            f"{listed} changed since; raise its sequence to {committed.sequence + 1} to upgrade")


def _initialize(orgs: _Orgs, channel: Channel, cc: Chaincode, init: ChaincodeInit, nonce: bytes,
                report: Callable[[str], None]) -> None:
    """Submit the chaincode's `init` transaction (its id fixed by `nonce`) as its user,
    through a peer of the user's organization (or of the first member that has one), and
    wait for it to commit."""
    org_name, _, user = init.user.partition("/")
    org = orgs.network.find_organization(org_name)
    assert org is not None  # the network file's checks name an organization of the file
    signer = load_signing_identity(orgs.layout.org(org.msp_id).user_dir(user) / "msp", org.msp_id)
    peer = orgs.peers[org.msp_id][0] if org.peers else orgs.peers[orgs.members_with_peers(channel)[0].msp_id][0]
    earlier = ""
    with connect(peer.address, signer=signer, tls_root_ca=peer.tls_ca) as gateway:
        network = gateway.get_network(channel.name)
        proposal = network.get_contract(cc.name).new_proposal(init.function, init.args, init=cc.init_required,
                                                              nonce=nonce)
        try:
            try:
                status = proposal.endorse().submit().get_status()
            except EndorseError as refused:
                found = _committed_earlier(network, proposal.transaction_id)
                if found is None:
                    raise refused
                status, earlier = found, " by an earlier `up`"
        except ConsortiaError as exc:
            raise DeployError(f"channel {channel.name}: the init transaction {init.function} of {cc.name} "
                              f"failed: {exc}") from exc
    if not status.successful:
        raise DeployError(f"channel {channel.name}: the init transaction {init.function} of {cc.name} committed "
                          f"as invalid ({status.code_name})")
    report(f"channel {channel.name}: {init.user} ran {cc.name} {init.function} (block {status.block_number}{earlier})")


def _committed_earlier(network: ChannelOfGateway, transaction_id: str) -> Status | None:
    """The commit status of a transaction the endorsers refused, if it did commit: they
    refuse an id the ledger already holds."""
    try:
        return network.new_commit(transaction_id).get_status(timeout=EARLIER_COMMIT_SECONDS)
    except CommitStatusError:
        return None


def _wait_approved(peer: NodeEndpoint, channel_id: str, definitions: list[Definition], approvers: list[str]) -> None:
    """Until `peer` has committed the approval of every org in `approvers` for each definition."""
    deadline = time.monotonic() + READY_TIMEOUT
    with connect(peer.address, signer=peer.signer, tls_root_ca=peer.tls_ca) as gateway:  # evaluates on this peer
        for definition in definitions:
            while True:
                approvals = ops.check_commit_readiness(gateway, channel_id, definition).approvals
                missing = [msp_id for msp_id in approvers if not approvals.get(msp_id)]
                if not missing:
                    break
                if time.monotonic() > deadline:
                    raise DeployError(f"channel {channel_id}: peer {peer.address} still lacks the approvals of "
                                      f"{', '.join(missing)} for {definition.name} after {READY_TIMEOUT:g}s")
                time.sleep(0.1)


async def _wait_ready(orgs: _Orgs, wanted: list[tuple[Channel, Chaincode]], report: Callable[[str], None]) -> None:
    probes = [(peer, channel.name, cc.name) for channel, cc in wanted
              for org in orgs.members_with_peers(channel) for peer in orgs.peers[org.msp_id]]
    await asyncio.gather(*(ops.wait_until_running(peer, channel, name, READY_TIMEOUT) for peer, channel, name in probes))
    report(f"chaincodes running on every peer ({len(probes)} checked)")
