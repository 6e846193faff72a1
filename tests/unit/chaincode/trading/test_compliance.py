"""registry.surrender, registry.evaluate_compliance, registry.record_penalty (DOMAIN.md §5.3;
SC-01 steps 11-12, SC-06, SC-07, SC-13), on a ledger seeded with the records that the
accounts, allocation and admin functions would have written (DOMAIN.md §4.1)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chaincode.contracts.trading.common import peers_of
from chaincode.shim.stub import ChaincodeStub
from tests.unit.chaincode.trading.conftest import Trading

pytestmark = pytest.mark.unit

AFTER_DEADLINE = "2024-01-02T10:00"


# ----- seeding the ledger --------------------------------------------------------------


def key(kind: str, *parts: object) -> str:
    return ChaincodeStub.create_composite_key(kind, [str(p) for p in parts])


def put(trading: Trading, kind: str, *parts: object, record: dict[str, Any], policy: bytes | None = None) -> None:
    """A record as the contract stores it: compact sorted-key JSON under a composite key."""
    trading.ledger.state[key(kind, *parts)] = json.dumps(record, sort_keys=True, separators=(",", ":")).encode()
    if policy is not None:
        trading.ledger.policies[key(kind, *parts)] = policy


def get(trading: Trading, kind: str, *parts: object) -> dict[str, Any]:
    record: dict[str, Any] = json.loads(trading.ledger.state[key(kind, *parts)])
    return record


def vintage_record(final_t: int, verified_t: int | None, obligation_t: int | None,
                   ccer_cap_t: int | None) -> dict[str, Any]:
    return {"pre_alloc_t": final_t * 7 // 10, "final_alloc_t": final_t, "obligation_t": obligation_t,
            "ccer_cap_t": ccer_cap_t, "verified_emissions_t": verified_t,
            "report_ref": None if verified_t is None else "mrv:AR~E~2021~v1:" + "0" * 64,
            "surrendered_cea_t": 0, "surrendered_ccer_t": 0, "borrowed_t": 0, "debt_t": 0, "deduct_next_t": 0,
            "shortfall_t": 0, "status": "PENDING", "penalty": None}


def entity(trading: Trading, entity_id: str, province: str, unit_type: str,
           vintages: dict[str, dict[str, Any]]) -> None:
    put(trading, "ENT", entity_id, record={"entity_id": entity_id, "name": f"Entity {entity_id}", "province": province,
                                           "unit_type": unit_type, "account_id": f"A-{entity_id}",
                                           "vintages": vintages},
        policy=peers_of("RegistryMSP", f"Prov{province}MSP"))


def holding(trading: Trading, account: str, product: str, available_t: int, frozen_t: int = 0) -> None:
    put(trading, "HOLD", account, product, record={"available_t": available_t, "frozen_t": frozen_t})


def batch(trading: Trading, batch_id: str, account: str, qty_t: int, *, covered: bool = False) -> None:
    put(trading, "CCERB", batch_id, record={"batch_id": batch_id, "account_id": account, "project_id": f"P-{batch_id}",
                                            "covered_project": covered, "issued_t": qty_t, "available_t": qty_t,
                                            "vintage_year": 2020})


def product(trading: Trading, code: str, kind: str, vintage: int, issued_t: int) -> None:
    put(trading, "PRODUCT", code, record={"code": code, "kind": kind, "vintage": vintage, "status": "LISTED",
                                          "ref_price_fen": 4900, "prev_close_fen": 4900, "last_trade_date": None})
    put(trading, "ISS", code, record={"issued_t": issued_t, "clawed_back_t": 0})
    put(trading, "RET", code, record={"retired_t": 0, "cancelled_t": 0})


@pytest.fixture
def market(trading: Trading) -> Trading:
    """The common fixture of DOMAIN.md §8 as it stands after SC-01 step 10: E1 and E2 (GD)
    with their 2021 obligations, CEA21 settled (A-E1 1,800,000, A-E2 1,181,800), batch B1
    of 50,000 CCER in A-E1; plus E4 (SD) of SC-13 with 520,000 CEA21."""
    put(trading, "CFG", "period", "CP2021-2022", record={
        "period_id": "CP2021-2022", "vintages": [2021, 2022], "products": ["CEA21", "CEA22", "CCER"],
        "surrender_deadline": "2023-12-31T17:00+08:00", "milestone95_date": "2023-11-15", "ccer_cap_pct": 5,
        "gap_cap_pct": 20, "gas_exempt": True, "holidays": []}, policy=peers_of("RegistryMSP", "MEEMSP"))
    product(trading, "CEA19-20", "CEA", 2020, 0)
    product(trading, "CEA21", "CEA", 2021, 1_800_000 + 1_181_800 + 520_000)
    product(trading, "CEA22", "CEA", 2022, 0)
    product(trading, "CCER", "CCER", 0, 50_000)
    entity(trading, "E1", "GD", "COAL_GT300", {"2021": vintage_record(1_754_000, 1_850_000, 1_850_000, 92_500)})
    entity(trading, "E2", "GD", "COAL_GT300", {"2021": vintage_record(1_227_800, 1_150_000, 1_150_000, 57_500)})
    entity(trading, "E4", "SD", "COAL_LE300", {"2021": vintage_record(500_000, 560_000, 560_000, 28_000)})
    holding(trading, "A-E1", "CEA21", 1_800_000)
    holding(trading, "A-E2", "CEA21", 1_181_800)
    holding(trading, "A-E4", "CEA21", 520_000)
    holding(trading, "A-E1", "CCER", 50_000)
    batch(trading, "B1", "A-E1", 50_000)
    return trading


def conserved(trading: Trading, code: str) -> tuple[int, int]:
    """I2 for one product: (held + retired + cancelled, issued - clawed back)."""
    prefix = key("HOLD")
    held = sum(r["available_t"] + r["frozen_t"] for k, r in
               ((k, json.loads(v)) for k, v in trading.ledger.state.items() if k.startswith(prefix))
               if ChaincodeStub.split_composite_key(k)[1][1] == code)
    ret, iss = get(trading, "RET", code), get(trading, "ISS", code)
    return held + ret["retired_t"] + ret["cancelled_t"], iss["issued_t"] - iss["clawed_back_t"]


def cea(qty: int, product_code: str = "CEA21") -> dict[str, Any]:
    return {"product": product_code, "qty_t": qty}


def ccer(qty: int, batch_id: str = "B1") -> dict[str, Any]:
    return {"product": "CCER", "qty_t": qty, "batch_id": batch_id}


# ----- SC-01 steps 11-12 ---------------------------------------------------------------


def test_sc01_surrender_and_compliance(market: Trading) -> None:
    result = market.call("E1", "registry:surrender", "E1", 2021, [cea(1_800_000), ccer(50_000)], at="2023-10-20T10:00")
    assert result == {"entity_id": "E1", "vintage": 2021, "receipt": "000001", "total_t": 1_850_000,
                      "surrendered_cea_t": 1_800_000, "surrendered_ccer_t": 50_000, "remaining_t": 0}
    assert market.event() == ("AllowancesSurrendered", {"entity_id": "E1", "vintage": 2021, "total_t": 1_850_000,
                                                        "items": [cea(1_800_000), ccer(50_000)]})
    market.call("E2", "registry:surrender", "E2", 2021, [cea(1_150_000)], at="2023-10-20T11:00")

    assert get(market, "RET", "CEA21")["retired_t"] == 2_950_000
    assert get(market, "RET", "CCER")["retired_t"] == 50_000
    assert get(market, "HOLD", "A-E1", "CEA21") == {"available_t": 0, "frozen_t": 0}
    assert get(market, "HOLD", "A-E1", "CCER") == {"available_t": 0, "frozen_t": 0}
    assert get(market, "CCERB", "B1")["available_t"] == 0
    assert get(market, "HOLD", "A-E2", "CEA21") == {"available_t": 31_800, "frozen_t": 0}
    # I2: 0 (A-E1) + 31,800 (A-E2) + 520,000 (A-E4, SC-13's) + 2,950,000 retired = issued.
    assert conserved(market, "CEA21") == (3_501_800, 3_501_800)
    assert conserved(market, "CCER") == (50_000, 50_000)
    e1 = get(market, "ENT", "E1")["vintages"]["2021"]
    assert (e1["surrendered_cea_t"], e1["surrendered_ccer_t"], e1["status"]) == (1_800_000, 50_000, "PENDING")
    assert get(market, "SUR", "E1", 2021, "000001") == {"items": [cea(1_800_000), ccer(50_000)],
                                                         "at": "2023-10-20T10:00:00+08:00"}

    for entity_id in ("E1", "E2"):
        assert market.call("gd", "registry:evaluate_compliance", entity_id, 2021, at=AFTER_DEADLINE) == {
            "entity_id": entity_id, "vintage": 2021, "status": "COMPLIANT", "shortfall_t": 0}
        assert market.event() == ("ComplianceEvaluated", {"entity_id": entity_id, "vintage": 2021,
                                                          "status": "COMPLIANT", "shortfall_t": 0})
    e1 = get(market, "ENT", "E1")["vintages"]["2021"]
    assert (e1["status"], e1["shortfall_t"], e1["evaluated_at"]) == ("COMPLIANT", 0, "2024-01-02T10:00:00+08:00")
    assert e1["completed_at"] == "2023-10-20T10:00:00+08:00"  # before milestone95 2023-11-15
    assert e1["report_ref"].startswith("mrv:AR~E~2021~v1:")


def test_surrender_writes_only_its_keys_and_the_entity_anchor(market: Trading) -> None:
    market.call("E1", "registry:surrender", "E1", 2021, [cea(1_000), ccer(500)], at="2023-10-20T10:00")
    assert market.ledger.last is not None
    assert set(market.ledger.last.writes) == {
        key("HOLD", "A-E1", "CEA21"), key("HOLD", "A-E1", "CCER"), key("CCERB", "B1"), key("RET", "CEA21"),
        key("RET", "CCER"), key("ENT", "E1"), key("SUR", "E1", 2021, "000001")}
    # ENT~E1 carries AND(Registry, ProvGD): Registry+Exchange endorsements alone would be invalid (SC-06).
    assert market.ledger.policies[key("ENT", "E1")] == peers_of("RegistryMSP", "ProvGDMSP")
    assert not market.ledger.last.policy_writes


def test_receipts_are_numbered_in_order(market: Trading) -> None:
    market.call("E1", "registry:surrender", "E1", 2021, [cea(1_000)], at="2023-10-20T10:00")
    result = market.call("E1", "registry:surrender", "E1", 2021, [ccer(2_000), cea(3_000)], at="2023-10-21T10:00")
    assert (result["receipt"], result["remaining_t"]) == ("000002", 1_850_000 - 6_000)
    assert get(market, "SUR", "E1", 2021, "000002") == {"items": [ccer(2_000), cea(3_000)],
                                                         "at": "2023-10-21T10:00:00+08:00"}
    e1 = get(market, "ENT", "E1")["vintages"]["2021"]
    assert (e1["surrendered_cea_t"], e1["surrendered_ccer_t"]) == (4_000, 2_000)
    assert get(market, "RET", "CEA21")["retired_t"] == 4_000
    assert get(market, "HOLD", "A-E1", "CEA21")["available_t"] == 1_796_000


# ----- SC-06 unauthorised callers ------------------------------------------------------


@pytest.mark.parametrize("who", ["E2", "auditor", "registry", "gd", "regulator"])
def test_sc06_only_the_entity_itself_surrenders(market: Trading, who: str) -> None:
    assert market.refused(who, "registry:surrender", "E1", 2021, [cea(1_000)]).startswith("ERR_UNAUTHORIZED: ")


def test_sc06_e1_surrendering_for_e2(market: Trading) -> None:
    assert market.refused("E1", "registry:surrender", "E2", 2021, [cea(1_000)]) == (
        "ERR_UNAUTHORIZED: an emitter of entity E1 may not surrender for E2")


@pytest.mark.parametrize(("who", "entity_id"), [("sd", "E1"), ("gd", "E4"), ("E1", "E1"), ("auditor", "E1"),
                                                 ("registry", "E1")])
def test_evaluation_by_others_is_refused(market: Trading, who: str, entity_id: str) -> None:
    message = market.refused(who, "registry:evaluate_compliance", entity_id, 2021, at=AFTER_DEADLINE)
    assert message.startswith("ERR_UNAUTHORIZED: ")


@pytest.mark.parametrize("who", ["gd", "regulator", "auditor", "E4", "registry"])
def test_penalty_by_others_is_refused(market: Trading, who: str) -> None:
    market.call("sd", "registry:evaluate_compliance", "E4", 2021, at=AFTER_DEADLINE)
    message = market.refused(who, "registry:record_penalty", "E4", 2021, 2_500_000, 560_000, at=AFTER_DEADLINE)
    assert message.startswith("ERR_UNAUTHORIZED: ")


# ----- SC-07 offset rules --------------------------------------------------------------


@pytest.fixture
def offsets(market: Trading) -> Trading:
    """E1 with 100,000 CCER (batch B1) and batch B2 of a covered project."""
    holding(market, "A-E1", "CCER", 130_000)
    batch(market, "B1", "A-E1", 100_000)
    batch(market, "B2", "A-E1", 30_000, covered=True)
    return market


def test_sc07_offset_cap(offsets: Trading) -> None:
    assert offsets.refused("E1", "registry:surrender", "E1", 2021, [ccer(92_501)]).startswith("ERR_OFFSET_CAP: ")
    offsets.call("E1", "registry:surrender", "E1", 2021, [ccer(92_500)])
    assert offsets.refused("E1", "registry:surrender", "E1", 2021, [ccer(1)]) == (
        "ERR_OFFSET_CAP: CCER surrendered for E1 2021 would be 92501 t, above the cap of 92500 t (92500 t already)")
    assert get(offsets, "CCERB", "B1")["available_t"] == 7_500
    assert get(offsets, "HOLD", "A-E1", "CCER")["available_t"] == 37_500


def test_sc07_offset_cap_counts_every_batch_of_the_request(offsets: Trading) -> None:
    batch(offsets, "B3", "A-E1", 30_000)
    holding(offsets, "A-E1", "CCER", 160_000)
    assert offsets.refused("E1", "registry:surrender", "E1", 2021,
                           [ccer(70_000), ccer(22_501, "B3")]).startswith("ERR_OFFSET_CAP: ")


def test_sc07_covered_project_batch(offsets: Trading) -> None:
    assert offsets.refused("E1", "registry:surrender", "E1", 2021, [ccer(1_000, "B2")]) == (
        "ERR_CCER_INELIGIBLE: CCER batch B2 comes from project P-B2, inside a covered entity")


def test_sc07_over_surrender(offsets: Trading) -> None:
    offsets.call("E1", "registry:surrender", "E1", 2021, [ccer(92_500)])
    assert offsets.refused("E1", "registry:surrender", "E1", 2021, [cea(1_757_501)]).startswith(
        "ERR_OVER_SURRENDER: surrender for E1 2021 would total 1850001 t, above the obligation of 1850000 t")
    offsets.call("E1", "registry:surrender", "E1", 2021, [cea(1_757_500)])
    assert offsets.refused("E1", "registry:surrender", "E1", 2021, [cea(1)]).startswith("ERR_OVER_SURRENDER: ")


def test_sc07_later_vintage_is_not_eligible(offsets: Trading) -> None:
    holding(offsets, "A-E1", "CEA22", 10_000)
    assert offsets.refused("E1", "registry:surrender", "E1", 2021, [cea(1_000, "CEA22")]) == (
        "ERR_VINTAGE_INELIGIBLE: CEA22 (vintage 2022) cannot cover a 2021 obligation: "
        "only vintage 2021 or earlier (no borrowing)")


def test_earlier_vintage_is_banked(offsets: Trading) -> None:
    holding(offsets, "A-E1", "CEA19-20", 10_000)
    offsets.call("E1", "registry:surrender", "E1", 2021, [cea(10_000, "CEA19-20"), cea(5_000)])
    assert get(offsets, "HOLD", "A-E1", "CEA19-20")["available_t"] == 0
    assert get(offsets, "RET", "CEA19-20")["retired_t"] == 10_000
    assert get(offsets, "ENT", "E1")["vintages"]["2021"]["surrendered_cea_t"] == 15_000


def test_ccer_batch_of_another_account(offsets: Trading) -> None:
    batch(offsets, "B9", "A-E2", 10_000)
    assert offsets.refused("E1", "registry:surrender", "E1", 2021, [ccer(1_000, "B9")]) == (
        "ERR_CCER_INELIGIBLE: CCER batch B9 is not held by A-E1")


def test_ccer_batch_with_too_little_left(offsets: Trading) -> None:
    batch(offsets, "B3", "A-E1", 1_000)
    assert offsets.refused("E1", "registry:surrender", "E1", 2021, [ccer(1_001, "B3")]) == (
        "ERR_INSUFFICIENT_HOLDINGS: CCER batch B3 has 1000 t available, 1001 t asked")


def test_only_available_holdings_are_surrendered(market: Trading) -> None:
    holding(market, "A-E2", "CEA21", 31_800, frozen_t=1_000_000)
    assert market.refused("E2", "registry:surrender", "E2", 2021, [cea(31_801)]) == (
        "ERR_INSUFFICIENT_HOLDINGS: A-E2 has 31800 t CEA21 available, 31801 t asked")
    assert market.refused("E2", "registry:surrender", "E2", 2021, [cea(1, "CEA19-20")]) == (
        "ERR_INSUFFICIENT_HOLDINGS: A-E2 has 0 t CEA19-20 available, 1 t asked")
    market.call("E2", "registry:surrender", "E2", 2021, [cea(31_800)])
    assert get(market, "HOLD", "A-E2", "CEA21") == {"available_t": 0, "frozen_t": 1_000_000}


# ----- arguments and state -------------------------------------------------------------


@pytest.mark.parametrize(("items", "message"), [
    ("not json", "items_json must be JSON"),
    ('{"product": "CEA21", "qty_t": 1}', "items_json must be a non-empty JSON array"),
    ("[]", "items_json must be a non-empty JSON array"),
    ('["CEA21"]', "items_json[0] must be a JSON object"),
    ([cea(0)], "items_json[0].qty_t must be a whole number above 0, found 0"),
    ([cea(1), cea(-5)], "items_json[1].qty_t must be a whole number above 0, found -5"),
    ([{"product": "CEA21", "qty_t": "10"}], "items_json[0].qty_t must be a whole number above 0"),
    ([{"product": "CEA21", "qty_t": 1.5}], "items_json[0].qty_t must be a whole number above 0"),
    ([{"product": "CEA21", "qty_t": True}], "items_json[0].qty_t must be a whole number above 0"),
    ([{"product": "CEA21"}], "items_json[0] must have product, qty_t"),
    ([{"product": "CEA21", "qty_t": 1, "price": 5}], "items_json[0] must have product, qty_t"),
    ([cea(1, "CEA 21")], "items_json[0].product must match"),
    ([ccer(1, "")], "items_json[0].batch_id must match"),
    ([cea(1), cea(2)], "items_json[1] repeats CEA21"),
    ([ccer(1), ccer(2)], "items_json[1] repeats CCER batch B1"),
    ([{"product": "CCER", "qty_t": 1}], "CCER is CCER: its item must name a batch_id"),
    ([{"product": "CEA21", "qty_t": 1, "batch_id": "B1"}], "CEA21 is a CEA product: its item takes no batch_id"),
])
def test_bad_items(market: Trading, items: Any, message: str) -> None:
    assert market.refused("E1", "registry:surrender", "E1", 2021, items).startswith(f"ERR_INVALID_ARGUMENT: {message}")


@pytest.mark.parametrize(("args", "message"), [
    (("E 1", 2021), "ERR_INVALID_ARGUMENT: entity_id must match"),
    (("E1", 0), "ERR_INVALID_ARGUMENT: vintage must be a whole number above 0"),
    (("E1", "2021.0"), "ERR_INVALID_ARGUMENT: surrender: argument 'vintage' must be an integer"),
])
def test_bad_arguments(market: Trading, args: tuple[object, ...], message: str) -> None:
    assert market.refused("E1", "registry:surrender", *args, [cea(1)]).startswith(message)


def test_obligation_must_be_set(market: Trading) -> None:
    entity(market, "E3", "GD", "COAL_GT300", {"2021": vintage_record(1_000_000, None, None, None)})
    holding(market, "A-E3", "CEA21", 1_000_000)
    assert market.refused("E3", "registry:surrender", "E3", 2021, [cea(1)]) == (
        "ERR_CONFLICT: the 2021 obligation of E3 is not set")
    assert market.refused("E1", "registry:surrender", "E1", 2022, [cea(1)]) == (
        "ERR_CONFLICT: the 2022 obligation of E1 is not set")
    assert market.refused("gd", "registry:evaluate_compliance", "E3", 2021, at=AFTER_DEADLINE).startswith(
        "ERR_CONFLICT: ")


def test_unknown_records(market: Trading) -> None:
    assert market.refused("E5", "registry:surrender", "E5", 2021, [cea(1)]) == "ERR_NOT_FOUND: ENT~E5 does not exist"
    assert market.refused("E1", "registry:surrender", "E1", 2021, [cea(1, "CEA99")]) == (
        "ERR_NOT_FOUND: PRODUCT~CEA99 does not exist")
    assert market.refused("E1", "registry:surrender", "E1", 2021, [ccer(1, "B7")]) == (
        "ERR_NOT_FOUND: CCERB~B7 does not exist")
    assert market.refused("gd", "registry:evaluate_compliance", "E1", 2025, at=AFTER_DEADLINE) == (
        "ERR_NOT_FOUND: no compliance period covers vintage 2025")


# ----- SC-13 shortfall, non-compliance and penalty ---------------------------------------


def test_sc13_shortfall_and_penalty(market: Trading) -> None:
    market.call("E4", "registry:surrender", "E4", 2021, [cea(520_000)], at="2023-11-01T10:00")
    for at in ("2023-12-31T16:59", "2023-12-31T17:00"):
        assert market.refused("sd", "registry:evaluate_compliance", "E4", 2021, at=at) == (
            "ERR_DEADLINE: compliance for 2021 is evaluated after the surrender deadline 2023-12-31T17:00+08:00, "
            f"not at {at}:00+08:00")
    assert market.call("sd", "registry:evaluate_compliance", "E4", 2021, at="2023-12-31T17:01") == {
        "entity_id": "E4", "vintage": 2021, "status": "NON_COMPLIANT", "shortfall_t": 40_000}
    assert market.event() == ("ComplianceEvaluated", {"entity_id": "E4", "vintage": 2021,
                                                      "status": "NON_COMPLIANT", "shortfall_t": 40_000})
    e4 = get(market, "ENT", "E4")["vintages"]["2021"]
    assert (e4["status"], e4["shortfall_t"], e4["completed_at"]) == ("NON_COMPLIANT", 40_000, None)

    for fine, deduct, message in [
        (3_500_000, 40_000, "fine_fen must be between 2000000 and 3000000, found 3500000"),
        (1_999_999, 40_000, "fine_fen must be between 2000000 and 3000000, found 1999999"),
        (2_500_000, 39_999, "deduct_next_t must equal the shortfall of 40000 t, found 39999"),
        (2_500_000, -1, "deduct_next_t must be a whole number, 0 or more, found -1"),
    ]:
        assert market.refused("sd", "registry:record_penalty", "E4", 2021, fine, deduct, at=AFTER_DEADLINE) == (
            f"ERR_INVALID_ARGUMENT: {message}")
    assert market.call("sd", "registry:record_penalty", "E4", 2021, 2_500_000, 40_000, at=AFTER_DEADLINE) == {
        "entity_id": "E4", "vintage": 2021, "fine_fen": 2_500_000, "deduct_next_t": 40_000}
    assert market.event() == ("PenaltyRecorded", {"entity_id": "E4", "vintage": 2021, "fine_fen": 2_500_000,
                                                  "deduct_next_t": 40_000})
    e4 = get(market, "ENT", "E4")["vintages"]["2021"]
    assert e4["penalty"] == {"fine_fen": 2_500_000, "deduct_next_t": 40_000,
                             "recorded_at": "2024-01-02T10:00:00+08:00"}
    assert (e4["deduct_next_t"], e4["status"]) == (40_000, "NON_COMPLIANT")

    # The record is closed: no second penalty, no re-evaluation, no surrender for it.
    assert market.refused("sd", "registry:record_penalty", "E4", 2021, 2_000_000, 40_000, at=AFTER_DEADLINE) == (
        "ERR_CONFLICT: a penalty for E4 2021 is already recorded")
    assert market.refused("sd", "registry:evaluate_compliance", "E4", 2021, at=AFTER_DEADLINE).startswith(
        "ERR_CONFLICT: ")
    holding(market, "A-E4", "CEA21", 40_000)
    assert market.refused("E4", "registry:surrender", "E4", 2021, [cea(40_000)], at=AFTER_DEADLINE).startswith(
        "ERR_CONFLICT: the 2021 obligation of E4 is closed by a penalty")


def test_penalty_needs_non_compliance(market: Trading) -> None:
    assert market.refused("sd", "registry:record_penalty", "E4", 2021, 2_500_000, 0, at=AFTER_DEADLINE) == (
        "ERR_CONFLICT: a penalty needs status NON_COMPLIANT; E4 2021 is PENDING")
    market.call("E1", "registry:surrender", "E1", 2021, [cea(1_800_000), ccer(50_000)], at="2023-10-20T10:00")
    market.call("regulator", "registry:evaluate_compliance", "E1", 2021, at=AFTER_DEADLINE)
    assert market.refused("gd", "registry:record_penalty", "E1", 2021, 2_500_000, 0, at=AFTER_DEADLINE) == (
        "ERR_CONFLICT: a penalty needs status NON_COMPLIANT; E1 2021 is COMPLIANT")


def test_completion_after_the_deadline_is_late(market: Trading) -> None:
    market.call("E4", "registry:surrender", "E4", 2021, [cea(520_000)], at="2023-11-01T10:00")
    market.call("sd", "registry:evaluate_compliance", "E4", 2021, at=AFTER_DEADLINE)
    holding(market, "A-E4", "CEA21", 40_000)  # bought and settled after the deadline
    market.call("E4", "registry:surrender", "E4", 2021, [cea(40_000)], at="2024-01-05T10:00")
    assert market.call("regulator", "registry:evaluate_compliance", "E4", 2021, at="2024-01-08T10:00") == {
        "entity_id": "E4", "vintage": 2021, "status": "COMPLIANT_LATE", "shortfall_t": 0}
    e4 = get(market, "ENT", "E4")["vintages"]["2021"]
    assert (e4["status"], e4["shortfall_t"], e4["completed_at"], e4["evaluated_at"]) == (
        "COMPLIANT_LATE", 0, "2024-01-05T10:00:00+08:00", "2024-01-08T10:00:00+08:00")


def test_completion_at_the_deadline_is_on_time(market: Trading) -> None:
    market.call("E2", "registry:surrender", "E2", 2021, [cea(150_000)], at="2023-10-01T10:00")
    market.call("E2", "registry:surrender", "E2", 2021, [cea(1_000_000)], at="2023-12-31T17:00")
    assert market.call("gd", "registry:evaluate_compliance", "E2", 2021, at=AFTER_DEADLINE)["status"] == "COMPLIANT"
