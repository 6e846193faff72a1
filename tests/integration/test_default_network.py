"""The quick start on the default network (network-config/carbon-market.yaml): `network
up` starts all eleven nodes and deploys its chaincodes, a department records an asset
and an emitting company reads it back through its own peer; on the trading channel the
registry opens an account, which its key-level policies make need the province's
endorsement; on the data-sharing channel an emitter's plan document goes to the
province's private data collection. The file is used as it is but for its base port (moved to free ports) and
the chaincode paths (made absolute for the copy)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.carbon import write_default_network
from tests.support.processes import cli, kill_all

pytestmark = pytest.mark.integration



@pytest.fixture
def cwd(tmp_path: Path) -> Iterator[Path]:
    write_default_network(tmp_path)
    try:
        yield tmp_path
    finally:
        kill_all(tmp_path / "consortia-network")


def test_the_default_network_comes_up_and_takes_a_transaction(cwd: Path) -> None:
    up = cli("network", "up", "carbon-market.yaml", cwd=cwd, timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "network carbon-market is up" in up.stdout
    assert "MEE/Regulator ran datashare governance:init" in up.stdout  # the chaincode's `init` in the file
    created = cli("invoke", "data-sharing", "asset", "create", "asset1", "MEE", "100", "--org", "MEE", cwd=cwd)
    assert created.returncode == 0, created.stderr
    read = cli("query", "data-sharing", "asset", "read", "asset1", "--org", "Emitter", cwd=cwd)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == {"id": "asset1", "owner": "MEE", "value": 100}
    check_the_trading_chaincode(cwd)
    check_private_monitoring_data(cwd)
    status = cli("network", "status", "--json", cwd=cwd)
    assert status.returncode == 0, status.stdout
    nodes = json.loads(status.stdout)["nodes"]
    assert len(nodes) == 11 and all(n["state"] == "running" for n in nodes)
    heights = {n["name"]: n["channels"] for n in nodes if n["kind"] == "peer"}
    assert heights["peer0.mee.carbon.example"]["data-sharing"] >= 4  # genesis, approvals, commit, the asset
    down = cli("network", "down", "--clean", cwd=cwd)
    assert down.returncode == 0 and not (cwd / "consortia-network").exists()


PERIOD = {"vintages": [2021, 2022], "products": ["CEA21", "CEA22", "CCER"],
          "report_deadline": "2022-03-31T23:59+08:00", "verify_deadline": "2022-06-30T23:59+08:00",
          "surrender_deadline": "2023-12-31T17:00+08:00", "milestone95_date": "2023-11-15"}


def check_the_trading_chaincode(cwd: Path) -> None:
    """Key-level policies on real peers (DOMAIN.md 6.1): opening a GD account touches the
    GD province anchor, so it needs the province's peer besides the registry's."""
    opened = cli("invoke", "trading", "trading", "admin:init_period", "CP2021-2022", json.dumps(PERIOD),
                 "--org", "MEE", "--user", "Regulator", cwd=cwd)
    assert opened.returncode == 0, opened.stderr
    account = ["A-E1", "E1", "Dongfang Power", "GD", "COAL_GT300"]
    wrong = cli("invoke", "trading", "trading", "registry:open_account", *account, "--org", "Registry",
                "--user", "Operator", "--endorsing-org", "RegistryMSP", "--endorsing-org", "ExchangeMSP", cwd=cwd)
    assert wrong.returncode != 0 and "ENDORSEMENT_POLICY_FAILURE" in wrong.stderr, wrong.stderr
    # Left to plan, the gateway reads the anchor's policy and brings in ProvGD.
    right = cli("invoke", "trading", "trading", "registry:open_account", *account, "--org", "Registry",
                "--user", "Operator", cwd=cwd)
    assert right.returncode == 0, right.stderr
    entity = cli("query", "trading", "trading", "query:get_entity", "E1", "--org", "ProvGD", cwd=cwd)
    assert entity.returncode == 0, entity.stderr
    assert json.loads(entity.stdout)["account_id"] == "A-E1"


def private_rows(cwd: Path, peer: str, value: bytes) -> int:
    """How many private state rows of mrv's collections on `peer`'s data-sharing ledger hold `value`."""
    (ledger,) = (cwd / "consortia-network").rglob(f"*{peer}*/**/data-sharing/ledger.db")
    with closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT value FROM state WHERE ns LIKE 'mrv$$p%'").fetchall()
    return sum(1 for (found,) in rows if found == value)


def check_private_monitoring_data(cwd: Path) -> None:
    """A plan document goes to the GD raw-data collection (DOMAIN.md 4.2): endorsed by the
    emitter's and the province's peers, kept by member peers, never by the statistics
    bureau's, which is not a member."""
    listed = cli("invoke", "data-sharing", "mrv", "mrv:register_entity", "E1", "Dongfang Power", "GD", "COAL_GT300",
                 "1850000", "--org", "ProvGD", "--user", "Officer", cwd=cwd)
    assert listed.returncode == 0, listed.stderr
    plan = b"data quality control plan of E1, version 1"
    submitted = cli("invoke", "data-sharing", "mrv", "mrv:submit_plan", "E1", "P1", hashlib.sha256(plan).hexdigest(),
                    "--transient", f"plan={plan.decode()}", "--org", "Emitter", "--user", "E1", cwd=cwd)
    assert submitted.returncode == 0, submitted.stderr
    assert private_rows(cwd, "emitter", plan) == 1
    assert private_rows(cwd, "stats", plan) == 0
