"""One default network (network-config/carbon-market.yaml) for every carbon-market
scenario test: starting its eleven nodes takes seconds, so the scenarios share it and
keep apart by their own ids (periods, vintages, products, orders, entities)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_network import kill_all
from tests.support.carbon import CarbonMarket, write_default_network
from tests.support.processes import cli


@pytest.fixture(scope="session")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarbonMarket]:
    cwd = tmp_path_factory.mktemp("carbon-market")
    write_default_network(cwd)
    try:
        up = cli("network", "up", "carbon-market.yaml", cwd=cwd, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        market = CarbonMarket(cwd)
        yield market
        market.close()
    finally:
        kill_all(cwd / "consortia-network")
