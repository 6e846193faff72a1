"""DOMAIN.md §8 SC-01, the full compliance cycle of the 2021 vintage, as a user runs it:
`consortia demo compliance-cycle` on the default network; its numbers read back through
the client, the invariants after it, the cross-channel reconciler, and SC-05 on the
holdings the cycle leaves. The tests of this module run in order, on a network of their
own, as a user would run the demo: right after `network up`, so the demo's totals are
the whole network's and can be checked exactly."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from consortia.carbon.reconcile import report_ref
from tests.support.carbon import CarbonMarket, running_market
from tests.support.processes import cli

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarbonMarket]:
    """A default network of this module's own (it replaces the shared one)."""
    with running_market(tmp_path_factory.mktemp("sc01")) as market:
        yield market


@pytest.fixture(scope="module")
def cycled(market: CarbonMarket) -> tuple[CarbonMarket, str]:
    """The network after the demo, and what the demo printed."""
    demo = cli("demo", "compliance-cycle", cwd=market.cwd, timeout=300)
    assert demo.returncode == 0, demo.stdout + demo.stderr
    return market, demo.stdout


def test_the_demo_prints_each_step_and_ends_with_sc01s_numbers(cycled: tuple[CarbonMarket, str]) -> None:
    _, printed = cycled
    # each step: who calls what, who endorsed, which block
    take = re.search(r"Emitter/E1 +trading\.exchange:take_listing O2 O1 A-E1 46,000\n +endorsed by (.*); block (\d+) "
                     r"of trading", printed)
    assert take is not None, printed
    assert take.group(1) == "BankMSP, ExchangeMSP, RegistryMSP"  # the buyer's money moves: the bank endorses
    confirm = re.search(r"mrv\.mrv:confirm_verification E1 2021\n +endorsed by (.*); block", printed)
    assert confirm is not None and confirm.group(1) == "MEEMSP, ProvGDMSP"
    assert re.search(r"E1 +COMPLIANT\n +E2 +COMPLIANT\n", printed), printed
    assert "milestone 2023-11-15: 2/2 entities complete (100 %" in printed
    assert re.search(r"CEA21 +31,800 \+ +2,950,000 \+ 0 = +2,981,800 - 0 t  holds", printed), printed
    assert re.search(r"CCER +0 \+ +50,000 \+ 0 = +50,000 - 0 t  holds", printed), printed
    assert "300,000,000 fen held = 300,000,000 deposited - 0 withdrawn  holds" in printed
    assert "Invariants I1-I5, I7-I9, I12: all hold" in printed
    assert "Cross-channel check: 2 obligation(s) rest on their VERIFIED report" in printed


def test_the_ledger_holds_sc01s_numbers(cycled: tuple[CarbonMarket, str]) -> None:
    market, _ = cycled
    holds = market.records("HOLD")
    assert {k: (v["available_t"], v["frozen_t"]) for k, v in holds.items()} == {
        ("A-E1", "CEA21"): (0, 0), ("A-E1", "CCER"): (0, 0), ("A-E2", "CEA21"): (31_800, 0)}
    assert market.record("ISS", "CEA21")["issued_t"] == 2_981_800
    assert market.record("RET", "CEA21")["retired_t"] == 2_950_000
    assert market.record("RET", "CCER")["retired_t"] == 50_000
    funds = market.records("FUND")
    assert (funds[("A-E1",)]["available_fen"], funds[("A-E2",)]["available_fen"]) == (70_000_000, 230_000_000)
    day = market.record("DAY", "CEA21", "2023-09-05")
    assert (day["open_fen"], day["close_fen"], day["vwap_fen"]) == (5_000, 5_000, 5_000)
    assert market.record("PRODUCT", "CEA21")["prev_close_fen"] == 5_000  # next day's limits 45.00-55.00
    e1 = market.query("ProvGD/Officer", "trading", "trading", "query:get_entity", "E1")["vintages"]["2021"]
    assert (e1["final_alloc_t"], e1["obligation_t"], e1["ccer_cap_t"], e1["status"]) == (
        1_754_000, 1_850_000, 92_500, "COMPLIANT")
    assert (e1["surrendered_cea_t"], e1["surrendered_ccer_t"]) == (1_800_000, 50_000)
    report = market.query("Audit/Auditor", "data-sharing", "mrv", "mrv:get_report", "E1", 2021)
    assert (report["version"], report["status"], report["verified_emissions_t"]) == (1, "VERIFIED", 1_850_000)
    assert e1["report_ref"] == report_ref(report)  # ENT~E1 names AR~E1~2021~v1 and its digest
    market.check_invariants()


def test_raw_monitoring_data_stays_in_the_provinces_collection(cycled: tuple[CarbonMarket, str]) -> None:
    market, _ = cycled
    blocks = market.block_files("data-sharing")
    assert blocks
    assert not any(b'"coal_t"' in path.read_bytes() or b"coal sampling" in path.read_bytes() for path in blocks)
    kept = market.private_values("prov-gd", "mrv")
    assert sum(b'"coal_t"' in value for value in kept) == 24  # 12 months of E1 and E2
    assert not any(b'"coal_t"' in value for value in market.private_values("stats", "mrv"))


def test_the_cycle_runs_once_per_network(cycled: tuple[CarbonMarket, str]) -> None:
    market, _ = cycled
    again = cli("demo", "compliance-cycle", cwd=market.cwd, timeout=60)
    assert again.returncode == 1
    assert "already holds period CP2021-2022" in again.stderr and "network down --clean" in again.stderr


def test_sc05_overselling_after_the_cycle(cycled: tuple[CarbonMarket, str]) -> None:
    """A-E2 has 31,800 t available and none frozen; the second of two listings would
    sell what the first froze; cancelling the first frees it again."""
    market, _ = cycled
    market.trading("Emitter/E2", "exchange:post_listing", "SC05-1", "A-E2", "SELL", "CEA21", 20_000, 5_000,
                   at="2023-09-06T10:00")
    market.refused("ERR_INSUFFICIENT_HOLDINGS", "Emitter/E2", "trading", "trading", "exchange:post_listing",
                   "SC05-2", "A-E2", "SELL", "CEA21", 15_000, 5_000, at="2023-09-06T10:01", naming="11800 t CEA21 available")
    held = market.record("HOLD", "A-E2", "CEA21")
    assert (held["available_t"], held["frozen_t"]) == (11_800, 20_000)
    market.check_invariants()
    market.trading("Emitter/E2", "exchange:cancel_order", "SC05-1", at="2023-09-06T10:02")
    held = market.record("HOLD", "A-E2", "CEA21")
    assert (held["available_t"], held["frozen_t"]) == (31_800, 0)
    market.check_invariants()


def test_reconcile_reports_an_obligation_whose_report_was_superseded(cycled: tuple[CarbonMarket, str]) -> None:
    """SC-08's objection on E2's verified report makes v2 the current one: the obligation
    still names v1, and the reconciler says so (exit 1), E1's link still holds."""
    market, _ = cycled
    clean = cli("carbon", "reconcile", cwd=market.cwd)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "2 obligation(s) checked, 0 mismatch(es)" in clean.stdout
    market.mrv("Emitter/E2", "file_objection", "E2", 2021, "0b" * 32, at="2022-06-20T10:00")
    decided = market.mrv("ProvGD/Officer", "decide_objection", "E2", 2021, "1", "UPHELD", 1_140_000,
                         at="2022-06-24T10:00")
    assert sorted(decided.endorsers) == ["MEEMSP", "ProvGDMSP"]
    found = cli("carbon", "reconcile", cwd=market.cwd)
    assert found.returncode == 1, found.stdout + found.stderr
    assert re.search(r"^E1 2021  ok  mrv:AR~E1~2021~v1:", found.stdout, re.MULTILINE), found.stdout
    assert "E2 2021  MISMATCH  report v1 is SUPERSEDED (newest: v2)" in found.stdout
    assert "2 obligation(s) checked, 1 mismatch(es)" in found.stdout
