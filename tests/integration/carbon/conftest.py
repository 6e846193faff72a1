"""One default network (network-config/carbon-market.yaml) for every carbon-market
scenario test: starting its eleven nodes takes seconds, so the scenarios share it and
keep apart by their own ids (periods, vintages, products, orders, trading days, and the
entities E10-E39 the tests add to the network's users).

The modules must not depend on each other or on their order: each opens its own period
(with its own vintages and products), benchmark set, accounts and orders, and trades on
days no other module uses (`settlement.settle_day` settles a date for every product).
Module  entities            trading days         vintages
SC-01   E1, E2              2023-09-05, 09-06    2021, 2022 (period CP2021-2022)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.integration.test_network import kill_all
from tests.support.carbon import CarbonMarket, write_default_network
from tests.support.processes import cli


@pytest.fixture(scope="session")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarbonMarket]:
    cwd = tmp_path_factory.mktemp("carbon-market")
    write_default_network(cwd, scenario_entities=True)
    try:
        up = cli("network", "up", "carbon-market.yaml", cwd=cwd, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        market = CarbonMarket(cwd)
        yield market
        market.close()
    finally:
        kill_all(cwd / "consortia-network")
