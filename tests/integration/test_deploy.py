"""Chaincode on a network started by `consortia network up`, driven only through the
CLI, as the README's walkthrough does: the network file's chaincode deployed by `up`;
a package of one's own made, installed, approved by each org and committed; an
upgrade; a chaincode-as-a-service package; and the definitions and state surviving
`down` and `up` again."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from consortia import cpus
from tests.support.contracts import write_versioned_contract
from tests.support.processes import cli, free_port_block, free_ports, kill_all

pytestmark = pytest.mark.integration

ASSET = Path(__file__).resolve().parents[2] / "chaincode" / "contracts" / "asset"


def spec(base_port: int) -> dict[str, Any]:
    return {
        "name": "deploytest",
        "base_port": base_port,
        "organizations": [
            {"name": f"Org{i}", "msp_id": f"Org{i}MSP", "domain": f"org{i}.example.com"} for i in (1, 2)
        ],
        "consensus": {"type": "solo", "batch": {"max_message_count": 10, "timeout": "200ms"}},
        "channels": [{"name": "ch1", "organizations": ["Org1MSP", "Org2MSP"],
                      "endorsement_policy": "OR('Org1MSP.peer', 'Org2MSP.peer')",
                      "chaincodes": [{"name": "asset", "path": str(ASSET)}]}],
    }


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("deploy")
    (root / "network.yaml").write_text(yaml.safe_dump(spec(free_port_block(30)), sort_keys=False))
    up = cli("network", "up", "network.yaml", cwd=root)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "committed asset" in up.stdout and "chaincodes running on every peer" in up.stdout
    try:
        yield root
    finally:
        kill_all(root / "consortia-network")


def ok(root: Path, *args: str) -> str:
    result = cli(*args, cwd=root)
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def test_up_deployed_the_network_files_chaincode(net: Path) -> None:
    ok(net, "invoke", "ch1", "asset", "create", "a1", "alice", "10", "--org", "Org1")
    assert json.loads(ok(net, "query", "ch1", "asset", "read", "a1", "--org", "Org2")) == \
        {"id": "a1", "owner": "alice", "value": 10}
    committed = json.loads(ok(net, "chaincode", "querycommitted", "--channel", "ch1", "--org", "Org1", "--json"))
    (asset,) = committed["chaincode_definitions"]
    assert (asset["name"], asset["version"], asset["sequence"]) == ("asset", "1.0", 1)


def cpus_of(pid: int) -> set[frozenset[int]]:
    """The CPU sets of every thread of `pid`."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(ProcessLookupError, FileNotFoundError):
            found.add(frozenset(os.sched_getaffinity(int(task.name))))
    return found


def children_of(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    children.append(int(entry.name))
    return children


@pytest.mark.skipif(not cpus.supported(), reason="choosing CPUs needs Linux")
def test_each_node_runs_on_its_cpu_and_a_peer_s_chaincode_on_the_next(net: Path) -> None:
    """`cpu_placement: spread`, the default: every thread of a node on one CPU."""
    nodes = json.loads(ok(net, "network", "status", "--json"))["nodes"]
    names = sorted(node["name"] for node in nodes)
    expected = cpus.spread([(name, name.startswith("peer")) for name in names], cpus.available())
    for node in nodes:
        node_cpu, chaincode_cpu = expected[node["name"]]
        assert cpus_of(node["pid"]) == {frozenset({node_cpu})}, node["name"]
        if chaincode_cpu is not None:
            (chaincode,) = children_of(node["pid"])  # the asset contract
            assert cpus_of(chaincode) == {frozenset({chaincode_cpu})}, f"{node['name']}'s chaincode"


def test_package_install_approve_commit_upgrade(net: Path) -> None:
    v1 = write_versioned_contract(net / "src1" / "versioned", "v1")
    made = ok(net, "chaincode", "package", str(v1), "--label", "versioned_1", "--out", "versioned_1.tar.gz")
    package_id = made.rsplit("package id ", 1)[1].strip()
    for org in ("Org1", "Org2"):
        installed = json.loads(ok(net, "chaincode", "install", "versioned_1.tar.gz", "--org", org, "--json"))
        assert installed["package_id"] == package_id
    listing = ok(net, "chaincode", "queryinstalled", "--org", "Org2")
    assert f"Package ID: {package_id}, Label: versioned_1" in listing
    assert ok(net, "chaincode", "calculatepackageid", "versioned_1.tar.gz").strip() == package_id
    (net / "fetched").mkdir()
    ok(net, "chaincode", "getinstalledpackage", "--package-id", package_id, "--output-directory", "fetched",
       "--org", "Org2")
    assert (net / "fetched" / f"{package_id}.tar.gz").read_bytes() == (net / "versioned_1.tar.gz").read_bytes()

    definition = ["--channel", "ch1", "--name", "versioned", "--version", "1.0", "--sequence", "1"]
    ok(net, "chaincode", "approve", *definition, "--package-id", package_id, "--org", "Org1")
    approved = json.loads(ok(net, "chaincode", "queryapproved", "--channel", "ch1", "--name", "versioned",
                             "--org", "Org1", "--json"))
    assert (approved["version"], approved["sequence"], approved["package_id"]) == ("1.0", 1, package_id)
    not_yet = cli("chaincode", "queryapproved", "--channel", "ch1", "--name", "versioned", "--org", "Org2", cwd=net)
    assert not_yet.returncode == 1 and "Org2MSP has not approved a definition of versioned" in not_yet.stderr
    readiness = json.loads(ok(net, "chaincode", "checkcommitreadiness", *definition, "--org", "Org1", "--json"))
    assert readiness["approvals"] == {"Org1MSP": True, "Org2MSP": False}
    refused = cli("chaincode", "commit", *definition, "--org", "Org1", cwd=net)
    assert refused.returncode == 1
    assert "missing approvals from Org2MSP" in refused.stderr
    ok(net, "chaincode", "approve", *definition, "--package-id", package_id, "--org", "Org2")
    assert "committed versioned 1.0 (sequence 1)" in ok(net, "chaincode", "commit", *definition, "--org", "Org2")
    assert ok(net, "query", "ch1", "versioned", "version", "--org", "Org1").strip() == "v1"
    shown = json.loads(ok(net, "chaincode", "queryinstalled", "--org", "Org1", "-O", "json"))  # Fabric's shape
    (row,) = [r for r in shown["installed_chaincodes"] if r["package_id"] == package_id]
    assert row["references"] == {"ch1": {"chaincodes": [{"name": "versioned", "version": "1.0"}]}}

    v2 = write_versioned_contract(net / "src2" / "versioned", "v2")
    made = ok(net, "chaincode", "package", str(v2), "--label", "versioned_2", "--out", "versioned_2.tar.gz")
    package_2 = made.rsplit("package id ", 1)[1].strip()
    upgrade = ["--channel", "ch1", "--name", "versioned", "--version", "2.0", "--sequence", "2",
               "--policy", "OR('Org2MSP.peer')"]
    for org in ("Org1", "Org2"):
        ok(net, "chaincode", "install", "versioned_2.tar.gz", "--org", org)
        ok(net, "chaincode", "approve", *upgrade, "--package-id", package_2, "--org", org)
    # Endorsing orgs named by hand: one org is not the channel's majority of two.
    too_few = cli("chaincode", "commit", *upgrade, "--org", "Org1", "--endorsing-org", "Org1MSP", cwd=net)
    assert too_few.returncode == 1 and "ENDORSEMENT_POLICY_FAILURE" in too_few.stderr, too_few.stderr
    both = ok(net, "chaincode", "commit", *upgrade, "--org", "Org1", "--endorsing-org", "Org2MSP",
              "--endorsing-org", "Org1MSP")
    assert "endorsed by Org2MSP, Org1MSP" in both
    assert ok(net, "query", "ch1", "versioned", "version", "--org", "Org1").strip() == "v2"
    # The new policy: Org2 alone endorses; Org1 alone no longer can.
    ok(net, "invoke", "ch1", "versioned", "put", "k", "v", "--org", "Org1", "--endorsing-org", "Org2MSP")
    alone = cli("invoke", "ch1", "versioned", "put", "k", "w", "--org", "Org1", "--endorsing-org", "Org1MSP", cwd=net)
    assert alone.returncode == 1 and "ENDORSEMENT_POLICY_FAILURE" in alone.stderr
    shown = json.loads(ok(net, "chaincode", "querycommitted", "--channel", "ch1", "--name", "versioned",
                          "--org", "Org2", "--json"))["chaincode_definitions"][0]
    assert (shown["version"], shown["sequence"], shown["endorsement_policy"]) == ("2.0", 2, "OR('Org2MSP.peer')")
    # Both packages have logged on each peer: a name that fits both is refused, and says which.
    both_logs = cli("network", "logs", "peer0.org2", "--chaincode", "versioned", cwd=net)
    assert both_logs.returncode == 1
    assert re.search(r"'versioned' could be the log of any of versioned_1-[0-9a-f]{12}, versioned_2-[0-9a-f]{12} "
                     r"on peer0\.org2\.example\.com: give more of the name", both_logs.stderr), both_logs.stderr
    assert f"chaincode {package_2} registered with the peer" in ok(net, "network", "logs", "peer0.org2", "--chaincode",
                                                                    "versioned_2")


def test_a_chaincode_as_a_service_package(net: Path) -> None:
    (port,) = free_ports(1)
    folder = write_versioned_contract(net / "svcsrc" / "versioned", "service")
    service = subprocess.Popen([sys.executable, "-m", "chaincode", "serve", str(folder), "--listen",
                                f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        (net / "svc").mkdir()
        (net / "svc" / "connection.json").write_text(json.dumps({"address": f"127.0.0.1:{port}",
                                                                  "dial_timeout": "10s", "tls_required": False}))
        made = ok(net, "chaincode", "package", "svc", "--label", "svc_1", "--out", "svc.tar.gz")
        assert "ccaas package" in made
        package_id = made.rsplit("package id ", 1)[1].strip()
        definition = ["--channel", "ch1", "--name", "svc", "--version", "1.0", "--sequence", "1"]
        for org in ("Org1", "Org2"):
            ok(net, "chaincode", "install", "svc.tar.gz", "--org", org)
            ok(net, "chaincode", "approve", *definition, "--package-id", package_id, "--org", org)
        ok(net, "chaincode", "commit", *definition, "--org", "Org1")
        assert ok(net, "query", "ch1", "svc", "version", "--org", "Org2").strip() == "service"
    finally:
        service.kill()
        service.wait(10)


def test_logs_of_the_chaincode_a_peer_runs(net: Path) -> None:
    shown = ok(net, "network", "logs", "peer0.org1", "--chaincode", "asset")
    assert re.search(r"chaincode asset_1\.0:[0-9a-f]{64} registered with the peer", shown), shown
    assert len(ok(net, "network", "logs", "peer0.org1", "--chaincode", "asset", "-n", "1").splitlines()) == 1
    missing = cli("network", "logs", "peer0.org1", "--chaincode", "nothing", cwd=net)
    assert missing.returncode == 1
    assert re.search(r"peer0\.org1\.example\.com has no chaincode log for 'nothing'; its chaincode logs: "
                     r"asset_1\.0-[0-9a-f]{12}", missing.stderr), missing.stderr
    empty = cli("network", "logs", "peer0.org1", "--chaincode", "", cwd=net)
    assert empty.returncode == 1 and "--chaincode needs a name" in empty.stderr
    orderer = cli("network", "logs", "orderer0", "--chaincode", "asset", cwd=net)
    assert orderer.returncode == 1 and "is an orderer; only peers run chaincode" in orderer.stderr


def test_bad_lifecycle_input_is_refused_clearly(net: Path) -> None:
    (net / "empty").mkdir()
    bad = cli("chaincode", "package", "empty", "--label", "x", "--out", "x.tar.gz", cwd=net)
    assert bad.returncode == 1 and "no __init__.py" in bad.stderr
    (net / "junk.tar.gz").write_bytes(b"junk")
    bad = cli("chaincode", "install", "junk.tar.gz", "--org", "Org1", cwd=net)
    assert bad.returncode == 1 and "not a valid tar.gz" in bad.stderr
    bad = cli("chaincode", "install", "versioned_1.tar.gz", "--org", "Org1", "--user", "User1", cwd=net)
    assert bad.returncode == 1 and "needs an admin of Org1MSP" in bad.stderr
    bad = cli("chaincode", "calculatepackageid", "junk.tar.gz", cwd=net)
    assert bad.returncode == 1 and "junk.tar.gz: the package is not a valid tar.gz" in bad.stderr
    bad = cli("chaincode", "calculatepackageid", "nowhere.tar.gz", cwd=net)
    assert bad.returncode == 1 and "cannot read package nowhere.tar.gz" in bad.stderr
    unknown = "nothing_1:" + "0" * 64
    bad = cli("chaincode", "getinstalledpackage", "--package-id", unknown, "--org", "Org1", cwd=net)
    assert bad.returncode == 1 and f"chaincode install package '{unknown}' not found" in bad.stderr
    assert not (net / f"{unknown}.tar.gz").exists()
    bad = cli("chaincode", "getinstalledpackage", "--package-id", "../escape", "--org", "Org1", cwd=net)
    assert bad.returncode == 1 and "--package-id '../escape' is not a package id" in bad.stderr
    bad = cli("chaincode", "getinstalledpackage", "--package-id", unknown, "--org", "Org1", "--user", "User1",
              cwd=net)
    assert bad.returncode == 1 and "needs an admin of Org1MSP" in bad.stderr
    bad = cli("chaincode", "approve", "--channel", "ch1", "--name", "asset", "--version", "1.0", "--sequence", "5",
              "--org", "Org1", cwd=net)
    assert bad.returncode == 1 and "new definition must be sequence 2" in bad.stderr
    bad = cli("chaincode", "approve", "--channel", "ch1", "--name", "asset", "--version", "1.0", "--sequence", "2",
              "--policy", "AND('Org1MSP.peer'", "--org", "Org1", cwd=net)
    assert bad.returncode == 1 and "endorsement policy" in bad.stderr
    approve_2 = ("chaincode", "approve", "--channel", "ch1", "--name", "asset", "--version", "1.0", "--sequence", "2",
                 "--org", "Org1")
    bad = cli(*approve_2, "--collections-config", "nowhere.json", cwd=net)
    assert bad.returncode == 1 and "cannot read the collections config nowhere.json" in bad.stderr
    (net / "c.json").write_text(json.dumps([{"name": "c", "policy": "OR('Org1MSP.member')", "maxPeers": 1}]))
    bad = cli(*approve_2, "--collections-config", "c.json", cwd=net)
    assert bad.returncode == 1 and "c.json[0]: unknown field 'maxPeers'" in bad.stderr
    (net / "c.json").write_text(json.dumps([{"name": "c", "policy": "OR('Org9MSP.member')"}]))
    bad = cli(*approve_2, "--collections-config", "c.json", cwd=net)  # refused by the peers' _lifecycle
    assert bad.returncode == 1 and "collection c: member Org9MSP is not an organization of the channel" in bad.stderr


def test_down_and_up_keep_definitions_and_state(net: Path) -> None:
    ok(net, "network", "down")
    again = ok(net, "network", "up")
    assert "chaincodes already defined" in again
    assert json.loads(ok(net, "query", "ch1", "asset", "read", "a1", "--org", "Org1"))["owner"] == "alice"
    assert ok(net, "query", "ch1", "versioned", "version", "--org", "Org2").strip() == "v2"


def test_an_init_owed_by_an_up_that_stopped_runs_once_at_the_next_up(tmp_path: Path) -> None:
    """`up` writes a chaincode's init down as owed (with the nonce that fixes its
    transaction id) before it commits the definition, and removes the record once the
    init committed. The two states a stopped `up` can leave are made here by hand: a
    record whose init never ran runs at the next `up`; a record whose init had
    committed finds it committed, and the init does not apply twice (a second `create`
    of the same asset would fail)."""
    network = spec(free_port_block(30))
    (tmp_path / "network.yaml").write_text(yaml.safe_dump(network, sort_keys=False))
    owed_dir = tmp_path / "consortia-network" / "chaincode" / "init-pending"
    try:
        ok(tmp_path, "network", "up", "network.yaml")
        assert not owed_dir.exists()  # no init in the file: nothing owed
        ok(tmp_path, "network", "down")
        network["channels"][0]["chaincodes"][0]["init"] = {"function": "create", "args": ["genesis", "Org1", "7"],
                                                           "user": "Org1/User1"}
        (tmp_path / "network.yaml").write_text(yaml.safe_dump(network, sort_keys=False))
        owed = owed_dir / "ch1.asset.json"
        record = json.dumps({"nonce": "ab" * 24, "sequence": 1})
        owed_dir.mkdir(parents=True)
        owed.write_text(record)  # as left by an `up` stopped between the commit and the init

        first = ok(tmp_path, "network", "up")
        assert "Org1/User1 ran asset create" in first and "earlier" not in first
        assert not owed.exists()
        assert json.loads(ok(tmp_path, "query", "ch1", "asset", "read", "genesis", "--org", "Org2")) == \
            {"id": "genesis", "owner": "Org1", "value": 7}

        ok(tmp_path, "network", "down")
        owed.write_text(record)  # as left by an `up` stopped after the init committed
        again = ok(tmp_path, "network", "up")
        assert "ran asset create" in again and "by an earlier `up`" in again
        assert not owed.exists()

        ok(tmp_path, "network", "down")
        assert "ran asset create" not in ok(tmp_path, "network", "up")  # nothing owed any more
    finally:
        kill_all(tmp_path / "consortia-network")


def test_up_again_says_what_the_network_file_changed_and_upgrades_only_by_sequence(net: Path) -> None:
    """Runs last in this module: it restarts the network three times."""
    edited = net / "asset_edited"
    shutil.copytree(ASSET, edited)
    with open(edited / "contract.py", "a") as contract:
        contract.write("\n# edited since the first deployment\n")
    file = net / "network.yaml"
    doc = yaml.safe_load(file.read_text())
    asset = doc["channels"][0]["chaincodes"][0]

    def up_with(**fields: Any) -> str:
        asset.update(fields)
        file.write_text(yaml.safe_dump(doc, sort_keys=False))
        ok(net, "network", "down")
        return ok(net, "network", "up")

    same_sequence = up_with(path=str(edited), version="1.1")
    assert ("channel ch1: chaincode asset stays at sequence 1 (version 1.0): the network file's version and code "
            "changed since; raise its sequence to 2 to upgrade") in same_sequence
    assert "chaincodes already defined" in same_sequence

    upgraded = up_with(sequence=2)
    assert "approved asset 1.1 (sequence 2)" in upgraded and "committed asset" in upgraded
    shown = json.loads(ok(net, "chaincode", "querycommitted", "--channel", "ch1", "--name", "asset", "--org", "Org1",
                          "--json"))["chaincode_definitions"][0]
    assert (shown["version"], shown["sequence"]) == ("1.1", 2)

    behind = up_with(sequence=1)
    assert ("channel ch1: chaincode asset is at sequence 2 (version 1.1), ahead of the network file's sequence 1: "
            "left as it is") in behind
    assert "stays at" not in behind
