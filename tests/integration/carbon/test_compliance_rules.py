"""DOMAIN.md §8 SC-06 (unauthorised callers), SC-07 (offset rules), SC-13 (shortfall,
non-compliance and penalty) and SC-14 (gap cap and gas exemption) on the running default
network. Refusals come back through the client with the contract's code, or with the
validator's when endorsements are missing, and leave the trading records as they were;
what the rules let through is read back through the regulator's view of the ledger.

The module keeps to ids of its own on the shared network: period CP2033-2034 (vintages
2033 and 2034, products CEA33 and CEA34), benchmark set BM-RULES33 (1,000 kg/MWh for
every unit type, so an allocation on N MWh is N t), CCER batches SC07-B1 and SC07-B2, one
trading day (2024-04-03), and these entities:

Entity  province  unit        scenario
E20     GD        COAL_GT300  SC-14 gap above the cap; SC-06 its emitter surrenders for E21
E21     GD        COAL_LE300  SC-14 gap under the cap; SC-06 a surrender without ProvGD's endorsement
E22     GD        COAL_GT300  SC-07 obligation 1,850,000, 130,000 CCER, some CEA34
E29     GD        (mrv only)  SC-06 a report under verification that ProvSD may not confirm
E30     SD        COAL_LE300  SC-13 falls short by 40,000
E31     SD        GAS         SC-14 gas exemption
E32     SD        COAL_LE300  sells E30 20,000 t, so that E30 holds SC-13's 520,000

The tests run in file order on one network: SC-07's over-surrender and SC-13's next
allocation take up what the test before them left.
"""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import pytest

from consortia.carbon.session import Refused, Session
from tests.support.carbon import CarbonMarket

pytestmark = pytest.mark.integration

PERIOD = {"vintages": [2033, 2034], "products": ["CEA33", "CEA34", "CCER"],
          "report_deadline": "2034-03-31T23:59+08:00", "verify_deadline": "2034-06-30T23:59+08:00",
          "surrender_deadline": "2034-12-31T17:00+08:00", "milestone95_date": "2034-11-15"}
BENCHMARKS = "BM-RULES33"
FLAT = {unit: {"supply_kg_per_mwh": 1000, "heat_kg_per_gj": 100}
        for unit in ("COAL_GT300", "COAL_LE300", "COAL_UNCONV", "GAS")}

SETUP_AT = "2033-01-04T09:00"
SURRENDER_AT = "2034-10-20T10:00"
AFTER_DEADLINE = "2035-01-02T10:00"
TRADING_DAY = "2024-04-03"  # a Wednesday among the trading days set aside for this module

GD, SD = "ProvGD/Officer", "ProvSD/Officer"
REGULATOR, REGISTRY, EXCHANGE, BANK = "MEE/Regulator", "Registry/Operator", "Exchange/Operator", "Bank/Operator"

# entity: (name, province, unit type, output in MWh = allocation in t, verified emissions in t)
ENTITIES: dict[str, tuple[str, str, str, int, int | None]] = {
    "E20": ("Zhuhai Power", "GD", "COAL_GT300", 1_000_000, 1_300_000),
    "E21": ("Shantou Power", "GD", "COAL_LE300", 1_000_000, 1_200_000),
    "E22": ("Dongfang Power II", "GD", "COAL_GT300", 1_850_000, 1_850_000),
    "E30": ("Jinan Heat", "SD", "COAL_LE300", 500_000, 560_000),
    "E31": ("Qingdao Gas", "SD", "GAS", 400_000, 430_000),
    "E32": ("Yantai Power", "SD", "COAL_LE300", 100_000, None),  # PRE only: 70,000 t to sell from
}


# ----- calls -----------------------------------------------------------------------------


def officer(entity: str) -> str:
    return GD if ENTITIES[entity][1] == "GD" else SD


def allocate(market: CarbonMarket, entity: str, year: int, phase: str, mwh: int, at: str) -> None:
    market.trading(officer(entity), "registry:issue_allocation", entity, year, phase, BENCHMARKS, mwh, 0, 1000, at=at)


def report_ref(entity: str) -> str:
    """The reference of a verified 2033 report, as set_obligation takes it (DOMAIN.md §6.3)."""
    return f"mrv:AR~{entity}~2033~v1:" + sha(f"verified report 2033 of {entity}".encode())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cea(qty_t: int, product: str = "CEA33") -> dict[str, Any]:
    return {"product": product, "qty_t": qty_t}


def ccer(qty_t: int, batch_id: str) -> dict[str, Any]:
    return {"product": "CCER", "qty_t": qty_t, "batch_id": batch_id}


# ----- reading the ledger ----------------------------------------------------------------


def vintage(market: CarbonMarket, entity: str, year: int = 2033) -> Any:
    return market.record("ENT", entity)["vintages"][str(year)]


def held(market: CarbonMarket, entity: str, product: str) -> tuple[int, int]:
    """(available, frozen) tonnes of `product` in the entity's account."""
    holding = market.records("HOLD").get((f"A-{entity}", product), {"available_t": 0, "frozen_t": 0})
    return holding["available_t"], holding["frozen_t"]


def retired(market: CarbonMarket, product: str) -> int:
    return int(market.record("RET", product)["retired_t"])


def report(market: CarbonMarket, entity: str, year: int) -> Any:
    return market.query(REGULATOR, "data-sharing", "mrv", "mrv:get_report", entity, year)


# ----- the market this module works in ---------------------------------------------------


@pytest.fixture(scope="module")
def rules(market: CarbonMarket) -> CarbonMarket:
    """Period CP2033-2034; E20-E22, E30 and E31 allocated for 2033 (PRE 70 % of the
    allocation, then FINAL) with their obligations set; E32 pre-allocated only; E22 and
    E30 pre-allocated for 2034 too; CCER batches SC07-B1 (100,000 t) and SC07-B2
    (30,000 t, from a covered project) in A-E22; and 20,000 t CEA33 sold by E32 to E30
    at 50.00 CNY on 2024-04-03, settled."""
    market.trading(REGULATOR, "admin:init_period", "CP2033-2034", json.dumps(PERIOD), at=SETUP_AT)
    market.trading(REGULATOR, "admin:set_benchmarks", BENCHMARKS, json.dumps(FLAT), at=SETUP_AT)
    market.trading(EXCHANGE, "admin:list_product", "CEA33", "CEA", 2033, 5_000, at=SETUP_AT)
    market.trading(EXCHANGE, "admin:list_product", "CEA34", "CEA", 2034, 5_000, at=SETUP_AT)
    if ("CCER",) not in market.records("PRODUCT"):  # one offset product for the whole network
        market.trading(EXCHANGE, "admin:list_product", "CCER", "CCER", 0, 3_000, at=SETUP_AT)

    for entity, (name, province, unit_type, mwh, verified_t) in ENTITIES.items():
        market.trading(REGISTRY, "registry:open_account", f"A-{entity}", entity, name, province, unit_type,
              at=SETUP_AT)
        allocate(market, entity, 2033, "PRE", mwh, "2034-04-20T10:00")
        if verified_t is not None:
            allocate(market, entity, 2033, "FINAL", mwh, "2034-07-10T10:00")
            market.trading(officer(entity), "registry:set_obligation", entity, 2033, verified_t, report_ref(entity),
                  at="2034-07-10T11:00")
    for entity in ("E22", "E30"):
        allocate(market, entity, 2034, "PRE", 100_000, "2035-04-20T10:00")
    for batch_id, covered, qty_t in (("SC07-B1", False, 100_000), ("SC07-B2", True, 30_000)):
        market.trading(REGISTRY, "registry:import_ccer", batch_id, "A-E22", f"P-{batch_id}", covered, qty_t, 2032,
              at="2034-09-10T10:00")

    market.trading(BANK, "settlement:deposit", "A-E30", 100_000_000, "SC13-BR1", at=f"{TRADING_DAY}T09:00")
    market.trading("Emitter/E32", "exchange:post_listing", "SC13-S1", "A-E32", "SELL", "CEA33", 20_000, 5_000,
          at=f"{TRADING_DAY}T10:00")
    market.trading("Emitter/E30", "exchange:take_listing", "SC13-B1", "SC13-S1", "A-E30", 20_000,
          at=f"{TRADING_DAY}T10:05")
    market.trading(EXCHANGE, "settlement:settle_day", TRADING_DAY, at=f"{TRADING_DAY}T15:30")
    return market


@pytest.fixture(scope="module")
def under_verification(market: CarbonMarket) -> CarbonMarket:
    """E29 (GD) on the data-sharing channel with its 2033 report verified by V1 and not
    yet confirmed: the province's confirmation is all that is left."""
    market.mrv(GD, "register_entity", "E29", "Huizhou Power", "GD", "COAL_GT300", 1_200_000, at=SETUP_AT)
    plan = b"monitoring plan P1 of E29: coal sampling per GB/T 31391"
    market.mrv("Emitter/E29", "submit_plan", "E29", "P1", sha(plan), at="2033-01-05T09:00", transient={"plan": plan})
    market.mrv(GD, "approve_plan", "E29", "P1", at="2033-01-05T11:00")
    for month in range(1, 13):
        raw = json.dumps({"entity": "E29", "period": f"2033-{month:02d}", "coal_t": 50_000}).encode()
        at = "2034-01-10T10:00" if month == 12 else f"2033-{month + 1:02d}-10T10:00"
        market.mrv("Emitter/E29", "submit_monthly", "E29", f"2033-{month:02d}", 100_000, 110_000, 0, sha(raw),
            at=at, transient={"raw": raw})
    market.mrv("Emitter/E29", "submit_annual_report", "E29", 2033, 1_200_000, 1_320_000, 0,
        sha(b"annual report 2033 of E29"), at="2034-03-20T10:00")
    market.mrv(GD, "assign_verifier", "E29", 2033, "V1", at="2034-04-01T10:00")
    market.mrv("Verifier/V1", "submit_verification", "E29", 2033, 1_200_000, 1_320_000, 0,
        sha(b"findings of V1 on E29 2033"), at="2034-06-10T10:00")
    return market


def test_the_allocations_and_the_trade_give_the_scenarios_holdings(rules: CarbonMarket) -> None:
    """PRE books floor(70 %) of the allocation, FINAL tops it up to the allocation;
    E30 holds SC-13's 520,000 CEA33 once its purchase is settled, and has paid for it."""
    e20 = vintage(rules, "E20")
    assert (e20["pre_alloc_t"], e20["final_alloc_t"]) == (700_000, 1_000_000)
    assert held(rules, "E20", "CEA33") == (1_000_000, 0)
    assert held(rules, "E22", "CCER") == (130_000, 0)
    assert held(rules, "E22", "CEA34") == (70_000, 0)
    assert held(rules, "E32", "CEA33") == (50_000, 0)
    assert held(rules, "E30", "CEA33") == (520_000, 0)
    funds = rules.records("FUND")
    assert (funds[("A-E30",)]["available_fen"], funds[("A-E32",)]["available_fen"]) == (0, 100_000_000)
    rules.check_invariants()


# ----- SC-14 gap cap and gas exemption -----------------------------------------------------


@pytest.mark.parametrize(("entity", "final_t", "verified_t", "obligation_t", "ccer_cap_t"), [
    ("E20", 1_000_000, 1_300_000, 1_260_000, 63_000),  # gap 23.1 % > 20 %: allocation + 20 % of emissions
    ("E31", 400_000, 430_000, 400_000, 20_000),  # gas: no more than the free allocation
    ("E21", 1_000_000, 1_200_000, 1_200_000, 60_000),  # gap 16.7 %: the emissions
    ("E30", 500_000, 560_000, 560_000, 28_000),  # SC-13's entity, gap 10.7 %: the emissions
])
def test_sc14_obligation(rules: CarbonMarket, entity: str, final_t: int, verified_t: int, obligation_t: int,
                         ccer_cap_t: int) -> None:
    record = vintage(rules, entity)
    assert (record["final_alloc_t"], record["verified_emissions_t"], record["obligation_t"],
            record["ccer_cap_t"]) == (final_t, verified_t, obligation_t, ccer_cap_t)
    assert record["report_ref"] == report_ref(entity)


# ----- SC-07 offset rules ----------------------------------------------------------------


def test_sc07_offset_cap(rules: CarbonMarket) -> None:
    """5 % of E22's 1,850,000 t obligation may be CCER: 92,500 t, in one go or in many."""
    before = retired(rules, "CCER")
    rules.refused("ERR_OFFSET_CAP", "Emitter/E22", "trading", "trading", "registry:surrender", "E22", 2033,
                  [ccer(92_501, "SC07-B1")], at=SURRENDER_AT, naming="would be 92501 t, above the cap of 92500 t")
    done = rules.trading("Emitter/E22", "registry:surrender", "E22", 2033, [ccer(92_500, "SC07-B1")], at=SURRENDER_AT)
    assert (done.result["surrendered_ccer_t"], done.result["remaining_t"]) == (92_500, 1_757_500)
    rules.refused("ERR_OFFSET_CAP", "Emitter/E22", "trading", "trading", "registry:surrender", "E22", 2033,
                  [ccer(1, "SC07-B1")], at=SURRENDER_AT, naming="would be 92501 t, above the cap of 92500 t (92500 t already)")

    assert held(rules, "E22", "CCER") == (37_500, 0)
    assert rules.record("CCERB", "SC07-B1")["available_t"] == 7_500
    assert retired(rules, "CCER") - before == 92_500
    rules.check_invariants()


def test_sc07_ccer_of_a_covered_project_is_ineligible(rules: CarbonMarket) -> None:
    rules.refused("ERR_CCER_INELIGIBLE", "Emitter/E22", "trading", "trading", "registry:surrender", "E22", 2033,
                  [ccer(1_000, "SC07-B2")], at=SURRENDER_AT,
                  naming="CCER batch SC07-B2 comes from project P-SC07-B2, inside a covered entity")
    assert rules.record("CCERB", "SC07-B2")["available_t"] == 30_000


def test_sc07_a_later_vintage_is_ineligible_without_borrowing(rules: CarbonMarket) -> None:
    assert held(rules, "E22", "CEA34")[0] >= 1_000  # E22 has the CEA34; the vintage is what is refused
    rules.refused("ERR_VINTAGE_INELIGIBLE", "Emitter/E22", "trading", "trading", "registry:surrender", "E22", 2033,
                  [cea(1_000, "CEA34")], at=SURRENDER_AT,
                  naming="CEA34 (vintage 2034) cannot cover a 2033 obligation")


def test_sc07_no_more_than_the_remaining_obligation(rules: CarbonMarket) -> None:
    record = vintage(rules, "E22")
    remaining = record["obligation_t"] - record["surrendered_cea_t"] - record["surrendered_ccer_t"]
    rules.refused("ERR_OVER_SURRENDER", "Emitter/E22", "trading", "trading", "registry:surrender", "E22", 2033,
                  [cea(remaining + 1)], at=SURRENDER_AT, naming="would total 1850001 t, above the obligation of 1850000 t")
    done = rules.trading("Emitter/E22", "registry:surrender", "E22", 2033, [cea(remaining)], at=SURRENDER_AT)
    assert done.result["remaining_t"] == 0
    rules.refused("ERR_OVER_SURRENDER", "Emitter/E22", "trading", "trading", "registry:surrender", "E22", 2033,
                  [cea(1)], at=SURRENDER_AT, naming="above the obligation of 1850000 t (1850000 t already)")
    assert held(rules, "E22", "CEA33") == (1_850_000 - remaining, 0)
    rules.check_invariants()


# ----- SC-13 shortfall, non-compliance and penalty ---------------------------------------


def test_sc13_shortfall_non_compliance_and_penalty(rules: CarbonMarket) -> None:
    done = rules.trading("Emitter/E30", "registry:surrender", "E30", 2033, [cea(520_000)], at="2034-11-01T10:00")
    assert done.result["remaining_t"] == 40_000
    assert held(rules, "E30", "CEA33") == (0, 0)

    for at in ("2034-12-31T16:59", "2034-12-31T17:00"):
        rules.refused("ERR_DEADLINE", SD, "trading", "trading", "registry:evaluate_compliance", "E30", 2033, at=at,
                      naming="after the surrender deadline 2034-12-31T17:00+08:00")
    evaluated = rules.trading(SD, "registry:evaluate_compliance", "E30", 2033, at=AFTER_DEADLINE)
    assert evaluated.result == {"entity_id": "E30", "vintage": 2033, "status": "NON_COMPLIANT", "shortfall_t": 40_000}

    rules.refused("ERR_INVALID_ARGUMENT", SD, "trading", "trading", "registry:record_penalty", "E30", 2033,
                  3_500_000, 40_000, at=AFTER_DEADLINE,
                  naming="fine_fen must be between 2000000 and 3000000, found 3500000")
    rules.trading(SD, "registry:record_penalty", "E30", 2033, 2_500_000, 40_000, at=AFTER_DEADLINE)
    e30 = vintage(rules, "E30")
    assert (e30["status"], e30["shortfall_t"], e30["deduct_next_t"]) == ("NON_COMPLIANT", 40_000, 40_000)
    assert (e30["penalty"]["fine_fen"], e30["penalty"]["deduct_next_t"]) == (2_500_000, 40_000)
    rules.check_invariants()


def test_sc13_the_next_final_allocation_is_reduced_by_the_shortfall(rules: CarbonMarket) -> None:
    """E30's 2034 allocation on 500,000 MWh is 500,000 t; 40,000 t of it are withheld
    for the 2033 shortfall, so its account ends with 460,000 t CEA34 (PRE 70,000 + 390,000)."""
    issued = rules.record("ISS", "CEA34")["issued_t"]
    allocate(rules, "E30", 2034, "FINAL", 500_000, "2035-07-10T10:00")
    e30 = vintage(rules, "E30", 2034)
    assert (e30["final_alloc_t"], e30["deducted_t"], e30["deducted_from"]) == (500_000, 40_000, {"2033": 40_000})
    assert held(rules, "E30", "CEA34") == (460_000, 0)
    assert rules.record("ISS", "CEA34")["issued_t"] - issued == 390_000
    rules.check_invariants()


# ----- SC-06 unauthorised callers --------------------------------------------------------


def test_sc06_a_verifier_cannot_reach_the_trading_chaincode(rules: CarbonMarket) -> None:
    """VerifierMSP is not a member of the trading channel (DOMAIN.md §2.2), so its
    client's call is refused before any contract runs: its own peer has not joined the
    channel, and the trading peers do not know its MSP."""
    allocation = ("registry:issue_allocation", "E20", 2034, "PRE", BENCHMARKS, 1_000_000, 0, 1000)
    before = rules.snapshot()
    with pytest.raises(Refused) as own_gateway:
        rules.session.submit("Verifier/V1", "trading", "trading", *allocation, at="2035-04-20T10:00")
    assert "joined" in str(own_gateway.value), own_gateway.value  # the verifier's peer is not on the channel

    profile = json.loads((rules.cwd / "consortia-network" / "connection.json").read_text())
    through_registry = copy.deepcopy(profile)
    through_registry["organizations"]["Verifier"]["peers"] = profile["organizations"]["Registry"]["peers"]
    with Session(through_registry) as outsider, pytest.raises(Refused) as registry_gateway:
        outsider.submit("Verifier/V1", "trading", "trading", *allocation, at="2035-04-20T10:00")
    assert registry_gateway.value.code == "ABORTED", registry_gateway.value
    assert "access denied: creator of the proposal: MSP 'VerifierMSP' is not known here" in str(registry_gateway.value)
    assert rules.snapshot() == before


def test_sc06_an_emitter_cannot_surrender_for_another_entity(rules: CarbonMarket) -> None:
    rules.refused("ERR_UNAUTHORIZED", "Emitter/E20", "trading", "trading", "registry:surrender", "E21", 2033,
                  [cea(1_000)], at=SURRENDER_AT, naming="an emitter of entity E20 may not surrender for E21")


def test_sc06_a_province_cannot_allocate_to_another_provinces_entity(rules: CarbonMarket) -> None:
    rules.refused("ERR_UNAUTHORIZED", SD, "trading", "trading", "registry:issue_allocation", "E20", 2034, "PRE",
                  BENCHMARKS, 1_000_000, 0, 1000, at="2035-04-20T10:00",
                  naming="may not do this (needs ProvGDMSP province_officer)")


def test_sc06_a_province_cannot_confirm_another_provinces_report(under_verification: CarbonMarket) -> None:
    market = under_verification
    market.refused("ERR_UNAUTHORIZED", SD, "data-sharing", "mrv", "mrv:confirm_verification", "E29", 2033,
                   at="2034-06-15T10:00", naming="an officer of ProvSDMSP (province SD) may not act for GD")
    assert report(market, "E29", 2033)["status"] == "UNDER_VERIFICATION"
    confirmed = market.mrv(GD, "confirm_verification", "E29", 2033, at="2034-06-15T10:05")
    assert sorted(confirmed.endorsers) == ["MEEMSP", "ProvGDMSP"]
    assert report(market, "E29", 2033)["status"] == "VERIFIED"


AUDITED = [  # a mutating function of each contract family, with arguments that pass the checks
    ("trading", "admin:init_period", ("CP2038-AUDIT", json.dumps({**PERIOD, "vintages": [2038]}))),
    ("trading", "admin:list_product", ("CEA38", "CEA", 2038, 5_000)),
    ("trading", "registry:open_account", ("A-E39", "E39", "Weifang Power", "SD", "COAL_GT300")),
    ("trading", "registry:issue_allocation", ("E20", 2034, "PRE", BENCHMARKS, 1_000_000, 0, 1000)),
    ("trading", "registry:set_obligation", ("E21", 2033, 1_000, report_ref("E21"))),
    ("trading", "registry:import_ccer", ("SC06-B9", "A-E20", "P-SC06", False, 1_000, 2032)),
    ("trading", "registry:surrender", ("E20", 2033, [cea(1_000)])),
    ("trading", "registry:evaluate_compliance", ("E20", 2033)),
    ("trading", "registry:record_penalty", ("E30", 2033, 2_500_000, 40_000)),
    ("trading", "settlement:deposit", ("A-E20", 1_000, "SC06-BR9")),
    ("trading", "exchange:post_listing", ("SC06-O9", "A-E20", "SELL", "CEA33", 1_000, 5_000)),
    ("data-sharing", "mrv:register_entity", ("E28", "Foshan Power", "GD", "COAL_GT300", 1_000_000)),
    ("data-sharing", "mrv:confirm_verification", ("E29", 2033)),
]


@pytest.mark.parametrize("user", ["Audit/Auditor", "Audit/Public"])
@pytest.mark.parametrize(("channel", "function", "args"), AUDITED, ids=[function for _, function, _ in AUDITED])
def test_sc06_auditors_and_the_public_change_nothing(rules: CarbonMarket, user: str, channel: str, function: str,
                                                     args: tuple[object, ...]) -> None:
    role = user.split("/")[1].lower()
    chaincode = "trading" if channel == "trading" else "mrv"
    rules.refused("ERR_UNAUTHORIZED", user, channel, chaincode, function, *args, at=f"{TRADING_DAY}T10:30",
                  naming=f"AuditMSP {role} may not do this")


def test_sc06_a_surrender_without_the_provinces_endorsement_is_invalid(rules: CarbonMarket) -> None:
    """ENT~E21 carries AND(Registry, ProvGD): endorsed by the registry and the exchange,
    the surrender is refused by the validator and changes nothing; the same surrender,
    endorsed as the gateway plans it, goes through."""
    rules.refused("ENDORSEMENT_POLICY_FAILURE", "Emitter/E21", "trading", "trading", "registry:surrender", "E21", 2033,
                  [cea(1_000)], at=SURRENDER_AT, endorsers=["RegistryMSP", "ExchangeMSP"])
    assert held(rules, "E21", "CEA33") == (1_000_000, 0)
    assert vintage(rules, "E21")["surrendered_cea_t"] == 0

    done = rules.trading("Emitter/E21", "registry:surrender", "E21", 2033, [cea(1_000)], at=SURRENDER_AT)
    assert sorted(done.endorsers) == ["ProvGDMSP", "RegistryMSP"]
    assert held(rules, "E21", "CEA33") == (999_000, 0)
    assert vintage(rules, "E21")["surrendered_cea_t"] == 1_000
    rules.check_invariants()
