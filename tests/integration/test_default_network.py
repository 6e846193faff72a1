"""The quick start on the default network (network-config/carbon-market.yaml): `network
up` starts all eleven nodes and deploys its chaincodes, a department records an asset
and an emitting company reads it back through its own peer; on the trading channel the
registry opens an account, which its key-level policies make need the province's
endorsement. The file is used as it is but for its base port (moved to free ports) and
the chaincode paths (made absolute for the copy)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.integration.test_network import kill_all
from tests.support.processes import cli, free_port_block

pytestmark = pytest.mark.integration

DEFAULT = Path(__file__).resolve().parents[2] / "network-config" / "carbon-market.yaml"


@pytest.fixture
def cwd(tmp_path: Path) -> Iterator[Path]:
    spec = yaml.safe_load(DEFAULT.read_text())
    spec["base_port"] = free_port_block(120)
    for channel in spec["channels"]:
        for chaincode in channel.get("chaincodes", []):
            chaincode["path"] = str((DEFAULT.parent / chaincode["path"]).resolve())
    (tmp_path / "carbon-market.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    try:
        yield tmp_path
    finally:
        kill_all(tmp_path / "consortia-network")


def test_the_default_network_comes_up_and_takes_a_transaction(cwd: Path) -> None:
    up = cli("network", "up", "carbon-market.yaml", cwd=cwd, timeout=180)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "network carbon-market is up" in up.stdout
    created = cli("invoke", "data-sharing", "asset", "create", "asset1", "MEE", "100", "--org", "MEE", cwd=cwd)
    assert created.returncode == 0, created.stderr
    read = cli("query", "data-sharing", "asset", "read", "asset1", "--org", "Emitter", cwd=cwd)
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout) == {"id": "asset1", "owner": "MEE", "value": 100}
    check_the_trading_chaincode(cwd)
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
