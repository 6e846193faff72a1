"""One default network (network-config/carbon-market.yaml) for every carbon-market
scenario test: starting its eleven nodes takes seconds, so the scenarios share it and
keep apart by their own ids (periods, vintages, products, orders, trading days, and the
entities E10-E39 the tests add to the network's users).

The modules must not depend on each other or on their order: each opens its own period
(with its own vintages and products), benchmark set, accounts and orders, and trades on
days no other module uses (`settlement.settle_day` settles a date for every product).
Module               entities                       trading days            vintages
test_compliance_rules E20-E29, E30-E39              2024-04                 2033-2038
test_data_sharing    E1 on datashare only            -                       -
test_market_rules    E10-E19 on trading              2024-03-04 to 03-13     2031, 2032
test_mrv_reports     E18, E19 on mrv only            -                       -
test_sc01_compliance_cycle runs on a network of its own: it checks the network's totals.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.carbon import CarbonMarket, running_market


@pytest.fixture(scope="session")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarbonMarket]:
    with running_market(tmp_path_factory.mktemp("carbon-market")) as market:
        yield market
