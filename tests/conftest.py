"""Shared pytest fixtures and hooks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from consortia.config.network import Network, load_network
from consortia.cryptogen import generate
from tests.support.crypto_layout import IdentityDir, identity_dirs
from tests.support.identities import SampleOrg, make_org
from tests.support.processes import report_and_reap

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def org1() -> SampleOrg:
    return make_org("Org1MSP")


@pytest.fixture(scope="session")
def org2() -> SampleOrg:
    return make_org("Org2MSP")


@pytest.fixture(scope="session")
def org3() -> SampleOrg:
    return make_org("Org3MSP")


@pytest.fixture(scope="session")
def minimal() -> Network:
    return load_network(REPO / "network-config" / "minimal.yaml")


@pytest.fixture(scope="session")
def carbon() -> Network:
    return load_network(REPO / "network-config" / "carbon-market.yaml")


@pytest.fixture(scope="session")
def carbon_crypto(carbon: Network, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Carbon-market material, generated once per run and only read by the tests."""
    out = tmp_path_factory.mktemp("carbon-crypto")
    generate(carbon, out)
    return out


@pytest.fixture(scope="session")
def carbon_identities(carbon: Network, carbon_crypto: Path) -> list[IdentityDir]:
    return identity_dirs(carbon, carbon_crypto)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(autouse=True)
def _reap_nodes(request: pytest.FixtureRequest) -> Iterator[None]:
    """Kill the nodes a test started; print their logs when it failed."""
    yield
    report = getattr(request.node, "report_call", None)
    logs = report_and_reap(failed=bool(report is not None and report.failed))
    if logs:
        print(logs)
