"""The chaincode lifecycle on real processes: three orgs, each with a peer, on a channel
whose LifecycleEndorsement is the default MAJORITY (two of three). Packages are made,
installed, approved and committed through `_lifecycle` exactly as an admin would, with
consortia.lifecycle.operations (which the CLI and `network up` use)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric_protos.gateway import gateway_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import collection_pb2, proposal_pb2, transaction_pb2

from consortia.client import CommitError, EndorseError, Gateway, GatewayError, connect
from consortia.endpoint import NodeEndpoint
from consortia.lifecycle import operations as ops
from consortia.lifecycle.collections import parse_collections_json
from consortia.lifecycle.definition import Definition
from consortia.lifecycle.package import (
    Connection,
    package_ccaas,
    package_python,
    read_package,
)
from consortia.msp.signing import SigningIdentity
from consortia.protoutil.proposal import create_proposal, sign_proposal
from consortia.protoutil.transaction import unpack_transaction
from tests.support.contracts import write_versioned_contract
from tests.support.processes import free_ports, run
from tests.support.testnet import PeerHandle, TestNetwork

pytestmark = pytest.mark.integration

ORGS = ("Org1MSP", "Org2MSP", "Org3MSP")
Code = transaction_pb2.TxValidationCode


class LifecycleNet:
    def __init__(self, root: Path) -> None:
        channels = [{"name": "ch1", "organizations": list(ORGS)}]
        self.net = TestNetwork(root, {"channels": channels})
        self.peers: dict[str, PeerHandle] = self.net.start_channel("ch1", ORGS)

    def admin(self, msp_id: str) -> SigningIdentity:
        return self.net.identity(msp_id, "Admin")

    def endpoint(self, msp_id: str, who: str = "Admin") -> NodeEndpoint:
        return NodeEndpoint(self.peers[msp_id].address, self.net.identity(msp_id, who))

    def gateway(self, msp_id: str, who: str = "Admin") -> Gateway:
        return connect(self.peers[msp_id].address, signer=self.net.identity(msp_id, who))

    def install(self, package: bytes, *orgs: str) -> str:
        ids = {run(ops.install(self.endpoint(org), package)).package_id for org in orgs}
        (package_id,) = ids
        return package_id

    def approve(self, definition: Definition, package_id: str | None, *orgs: str) -> None:
        for org in orgs:
            with self.gateway(org) as gateway:
                self.settle(ops.approve(gateway, "ch1", definition, package_id, org))

    def commit(self, definition: Definition, endorsing_orgs: list[str], via: str = "Org1MSP") -> None:
        with self.gateway(via) as gateway:
            self.settle(ops.commit(gateway, "ch1", definition, endorsing_orgs))

    def settle(self, number: int) -> None:
        """Wait until every peer has committed block `number`: a submit returns once the
        gateway's own peer has, and the next step may ask another org's peer."""
        for peer in self.peers.values():
            run(self.net.wait_for_height(peer, "ch1", number + 1))

    def stop(self) -> None:
        for node in (*(p.node for p in self.peers.values()), self.net.orderer):
            node.kill()


@pytest.fixture(scope="module")
def lnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LifecycleNet]:
    net = LifecycleNet(tmp_path_factory.mktemp("lifecycle"))
    yield net
    net.stop()


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    root = tmp_path_factory.mktemp("contracts")
    return {"v1": package_python(write_versioned_contract(root / "v1" / "versioned", "v1"), "versioned_1"),
            "v2": package_python(write_versioned_contract(root / "v2" / "versioned", "v2"), "versioned_2")}


def test_install_checks_the_admin_and_refuses_a_second_install(lnet: LifecycleNet, packages: dict[str, bytes]) -> None:
    with pytest.raises(ops.LifecycleCallError, match="needs an admin of Org1MSP"):
        run(ops.install(lnet.endpoint("Org1MSP", "User1"), packages["v1"]))
    with pytest.raises(ops.LifecycleCallError, match="not a valid tar.gz"):
        run(ops.install(lnet.endpoint("Org1MSP"), b"not a package"))
    package_id = lnet.install(packages["v1"], *ORGS)
    assert package_id == read_package(packages["v1"]).package_id
    assert package_id.startswith("versioned_1:")
    with pytest.raises(ops.LifecycleCallError, match="already successfully installed"):
        run(ops.install(lnet.endpoint("Org2MSP"), packages["v1"]))
    installed = run(ops.query_installed(lnet.endpoint("Org3MSP")))
    assert [(c.package_id, c.label) for c in installed.installed_chaincodes] == [(package_id, "versioned_1")]


def test_commit_needs_a_majority_then_the_chaincode_runs(lnet: LifecycleNet, packages: dict[str, bytes]) -> None:
    package_id = read_package(packages["v1"]).package_id
    definition = ops.definition("versioned", "1.0", 1)
    with lnet.gateway("Org1MSP", "User1") as gateway, pytest.raises(EndorseError, match="only an admin of Org1MSP"):
        ops.approve(gateway, "ch1", definition, package_id, "Org1MSP")
    lnet.approve(definition, package_id, "Org1MSP")
    with lnet.gateway("Org1MSP") as gateway:
        readiness = ops.check_commit_readiness(gateway, "ch1", definition)
        assert dict(readiness.approvals) == {"Org1MSP": True, "Org2MSP": False, "Org3MSP": False}
        with pytest.raises(EndorseError, match="missing approvals from Org2MSP, Org3MSP"):
            ops.commit(gateway, "ch1", definition, ["Org1MSP"])
        assert ops.query_committed(gateway, "ch1", "versioned") is None
        with pytest.raises(EndorseError, match="new definition must be sequence 1"):
            ops.approve(gateway, "ch1", ops.definition("versioned", "1.0", 2), package_id, "Org1MSP")
    lnet.approve(definition, package_id, "Org2MSP")
    with lnet.gateway("Org1MSP") as gateway:
        assert dict(ops.check_commit_readiness(gateway, "ch1", definition).approvals)["Org2MSP"] is True
    lnet.commit(definition, ["Org1MSP", "Org2MSP"])
    with lnet.gateway("Org1MSP") as gateway:
        committed = ops.query_committed(gateway, "ch1", "versioned")
        assert committed is not None and committed.sequence == 1 and committed.version == "1.0"
        assert dict(committed.approvals) == {"Org1MSP": True, "Org2MSP": True, "Org3MSP": False}
    with lnet.gateway("Org1MSP", "User1") as gateway:
        contract = gateway.get_network("ch1").get_contract("versioned")
        assert contract.evaluate_transaction("version") == b"v1"
        contract.submit("put", ["k", "one"], endorsing_organizations=["Org1MSP", "Org2MSP"])
        assert contract.evaluate_transaction("get", "k") == b"one"
        # The channel's Endorsement policy (MAJORITY): one org alone is not enough.
        with pytest.raises(CommitError) as failed:
            contract.submit("put", ["k", "alone"], endorsing_organizations=["Org1MSP"])
        assert failed.value.code == Code.ENDORSEMENT_POLICY_FAILURE
        # Org3 did not approve, so its peer runs nothing for the definition.
        with pytest.raises(GatewayError, match="has not approved it with a package"):
            contract.submit("put", ["k", "three"], endorsing_organizations=["Org3MSP"])
    installed = run(ops.query_installed(lnet.endpoint("Org1MSP")))
    refs = installed.installed_chaincodes[0].references["ch1"].chaincodes
    assert [(r.name, r.version) for r in refs] == [("versioned", "1.0")]


def test_an_approval_is_private_data_of_its_org(lnet: LifecycleNet, packages: dict[str, bytes]) -> None:
    """As in Fabric, an approval goes into the org's implicit collection of `_lifecycle`:
    the transaction's read-write set and the other orgs' peers hold only hashes, which
    still tell them whether it matches a proposed definition."""
    package_id = read_package(packages["v1"]).package_id
    definition = ops.definition("approved-privately", "1.0", 1)
    with lnet.gateway("Org2MSP") as gateway:
        number = ops.approve(gateway, "ch1", definition, package_id, "Org2MSP")
    block = run(lnet.net.wait_for_height(lnet.peers["Org3MSP"], "ch1", number + 1))[number]
    (action,) = unpack_transaction(block.data.data[0]).actions
    (written,) = [ns for ns in action.read_write_set().ns_rwset if ns.namespace == "_lifecycle"]
    assert kv_rwset_pb2.KVRWSet.FromString(written.rwset).writes == []
    assert [c.collection_name for c in written.collection_hashed_rwset] == ["_implicit_org_Org2MSP"]
    with lnet.gateway("Org2MSP") as gateway:
        approved = ops.query_approved(gateway, "ch1", "approved-privately")
        assert (approved.sequence, approved.version) == (1, "1.0")
        assert approved.source.local_package.package_id == package_id
    with lnet.gateway("Org3MSP") as gateway:
        with pytest.raises(GatewayError, match="Org3MSP has not approved a definition of approved-privately"):
            ops.query_approved(gateway, "ch1", "approved-privately")
        readiness = ops.check_commit_readiness(gateway, "ch1", definition)
        assert dict(readiness.approvals) == {"Org1MSP": False, "Org2MSP": True, "Org3MSP": False}
        other = ops.check_commit_readiness(gateway, "ch1", ops.definition("approved-privately", "1.1", 1))
        assert dict(other.approvals)["Org2MSP"] is False
        assert list(other.mismatches["Org2MSP"].items) == ["version"]


def test_upgrade_changes_behaviour_and_policy(lnet: LifecycleNet, packages: dict[str, bytes]) -> None:
    package_id = lnet.install(packages["v2"], "Org1MSP", "Org2MSP")
    upgrade = ops.definition("versioned", "2.0", 2, "OR('Org1MSP.peer')")
    lnet.approve(upgrade, package_id, "Org1MSP", "Org2MSP")
    lnet.commit(upgrade, ["Org1MSP", "Org2MSP"])
    with lnet.gateway("Org1MSP", "User1") as gateway:
        contract = gateway.get_network("ch1").get_contract("versioned")
        assert contract.evaluate_transaction("version") == b"v2"
        assert contract.evaluate_transaction("get", "k") == b"one"  # same namespace, same state
        contract.submit("put", ["k", "alone"], endorsing_organizations=["Org1MSP"])  # now enough
        assert contract.evaluate_transaction("get", "k") == b"alone"
    with lnet.gateway("Org1MSP") as gateway:
        with pytest.raises(EndorseError, match="redefine the current committed sequence"):
            ops.approve(gateway, "ch1", ops.definition("versioned", "2.1", 2), package_id, "Org1MSP")


def test_a_chaincode_as_a_service_package(lnet: LifecycleNet, tmp_path: Path) -> None:
    folder = write_versioned_contract(tmp_path / "svc" / "versioned", "service")
    (port,) = free_ports(1)
    log = open(tmp_path / "service.log", "wb")  # noqa: SIM115 - the child owns it
    service = subprocess.Popen([sys.executable, "-m", "chaincode", "serve", str(folder),
                                "--listen", f"127.0.0.1:{port}", "--id", "svc"], stdout=log, stderr=subprocess.STDOUT)
    try:
        package = package_ccaas(Connection(address=f"127.0.0.1:{port}"), "svc_1")
        package_id = lnet.install(package, "Org1MSP", "Org2MSP")
        definition = ops.definition("svc", "1.0", 1, "OR('Org1MSP.peer', 'Org2MSP.peer')")
        lnet.approve(definition, package_id, "Org1MSP", "Org2MSP")
        lnet.commit(definition, ["Org1MSP", "Org2MSP"], via="Org2MSP")
        with lnet.gateway("Org2MSP", "User1") as gateway:
            contract = gateway.get_network("ch1").get_contract("svc")
            assert contract.evaluate_transaction("version") == b"service"
            contract.submit("put", ["s", "served"], endorsing_organizations=["Org2MSP"])
            assert contract.evaluate_transaction("get", "s") == b"served"
    finally:
        service.kill()
        service.wait(10)


def test_a_peer_killed_and_restarted_runs_the_committed_chaincode_again(lnet: LifecycleNet) -> None:
    peer = lnet.peers["Org2MSP"]
    peer.node.kill()
    peer.node.start()
    with lnet.gateway("Org2MSP", "User1") as gateway:
        contract = gateway.get_network("ch1").get_contract("versioned")
        # Org2's own peer answers (evaluate goes to the client's org), from the v2 package.
        assert contract.evaluate("version", target_organizations=["Org2MSP"]) == b"v2"
    installed = run(ops.query_installed(lnet.endpoint("Org2MSP")))
    assert {c.label for c in installed.installed_chaincodes} == {"versioned_1", "versioned_2", "svc_1"}


def test_an_org_that_approves_the_committed_definition_later_runs_it_too(lnet: LifecycleNet,
                                                                           packages: dict[str, bytes]) -> None:
    package_id = lnet.install(packages["v2"], "Org3MSP")
    lnet.approve(ops.definition("versioned", "2.0", 2, "OR('Org1MSP.peer')"), package_id, "Org3MSP")
    with lnet.gateway("Org3MSP", "User1") as gateway:
        contract = gateway.get_network("ch1").get_contract("versioned")
        assert contract.evaluate("version", target_organizations=["Org3MSP"]) == b"v2"


def test_a_commit_endorsed_by_too_few_orgs_is_invalid(lnet: LifecycleNet, packages: dict[str, bytes]) -> None:
    definition = ops.definition("lonely", "1.0", 1)
    lnet.approve(definition, read_package(packages["v1"]).package_id, "Org1MSP", "Org2MSP")
    with lnet.gateway("Org1MSP") as gateway:
        with pytest.raises(CommitError) as failed:
            ops.commit(gateway, "ch1", definition, ["Org1MSP"])  # approvals suffice; endorsements do not
        assert failed.value.code == Code.ENDORSEMENT_POLICY_FAILURE
        assert ops.query_committed(gateway, "ch1", "lonely") is None


def test_init_required_makes_the_first_transaction_the_init(lnet: LifecycleNet, packages: dict[str, bytes]) -> None:
    definition = ops.definition("initcc", "1.0", 1, "OR('Org1MSP.peer', 'Org2MSP.peer')", init_required=True)
    lnet.approve(definition, read_package(packages["v1"]).package_id, "Org1MSP", "Org2MSP")
    lnet.commit(definition, ["Org1MSP", "Org2MSP"])
    with lnet.gateway("Org1MSP", "User1") as gateway:
        contract = gateway.get_network("ch1").get_contract("initcc")
        with pytest.raises(EndorseError, match="must be the init"):
            contract.submit("put", ["k", "before init"], endorsing_organizations=["Org1MSP"])

        client = lnet.net.identity("Org1MSP", "User1")

        def init_proposal() -> tuple[bytes, bytes]:
            """An init proposal as the gateway client's offline-signing flow takes it."""
            made, tx_id = create_proposal("ch1", "initcc", [b"put", b"k", b"init"], client.serialize(), is_init=True)
            signed = sign_proposal(made, client)
            proposed = gateway_pb2.ProposedTransaction(
                transaction_id=tx_id, proposal=proposal_pb2.SignedProposal(proposal_bytes=signed.proposal_bytes))
            return proposed.SerializeToString(), signed.signature

        contract.submit("put", ["k", "init"], init=True)
        assert contract.evaluate_transaction("get", "k") == b"init"
        with pytest.raises(EndorseError, match="already initialized"):
            contract.submit("put", ["k", "again"], init=True)
        with pytest.raises(EndorseError, match="already initialized"):  # as an offline-signing client sends it
            gateway.new_signed_proposal(*init_proposal()).endorse()
        contract.submit("put", ["k", "after init"], endorsing_organizations=["Org1MSP"])
        assert contract.evaluate_transaction("get", "k") == b"after init"


def test_collections_are_agreed_and_committed_with_the_definition(lnet: LifecycleNet,
                                                                 packages: dict[str, bytes]) -> None:
    def collections(*entries: dict[str, object]) -> collection_pb2.CollectionConfigPackage:
        return parse_collections_json(json.dumps(list(entries)))

    prices = collections({"name": "prices", "policy": "OR('Org1MSP.member', 'Org2MSP.member')",
                          "maxPeerCount": 1, "blockToLive": 10, "memberOnlyRead": True})
    package_id = read_package(packages["v1"]).package_id
    policy = "OR('Org1MSP.peer', 'Org2MSP.peer')"
    with lnet.gateway("Org1MSP") as gateway:
        with pytest.raises(EndorseError, match="collection prices: member Org9MSP is not an organization"):
            stranger = collections({"name": "prices", "policy": "OR('Org9MSP.member')"})
            ops.approve(gateway, "ch1", ops.definition("private", "1.0", 1, policy, collections=stranger),
                        package_id, "Org1MSP")
    definition = ops.definition("private", "1.0", 1, policy, collections=prices)
    lnet.approve(definition, package_id, "Org1MSP")
    lnet.approve(ops.definition("private", "1.0", 1, policy), package_id, "Org2MSP")  # without the collection
    with lnet.gateway("Org1MSP") as gateway:
        readiness = ops.check_commit_readiness(gateway, "ch1", definition)
        assert dict(readiness.approvals) == {"Org1MSP": True, "Org2MSP": False, "Org3MSP": False}
        assert list(readiness.mismatches["Org2MSP"].items) == ["collections"]
    lnet.approve(definition, package_id, "Org2MSP")
    lnet.commit(definition, ["Org1MSP", "Org2MSP"])
    with lnet.gateway("Org1MSP") as gateway:
        committed = ops.query_committed(gateway, "ch1", "private")
        assert committed is not None and committed.collections == prices
        # An upgrade may add collections, but neither drop one nor change its blockToLive.
        with pytest.raises(EndorseError, match="collection prices is defined in the committed definition and missing"):
            ops.approve(gateway, "ch1", ops.definition("private", "1.1", 2, policy), package_id, "Org1MSP")
        longer = collections({"name": "prices", "policy": "OR('Org1MSP.member', 'Org2MSP.member')",
                              "blockToLive": 20})
        with pytest.raises(EndorseError, match="collection prices: blockToLive cannot change"):
            ops.approve(gateway, "ch1", ops.definition("private", "1.1", 2, policy, collections=longer),
                        package_id, "Org1MSP")
