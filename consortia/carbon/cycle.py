"""The full compliance cycle of the 2021 vintage (DOMAIN.md §8, SC-01), on a running network.

Every step is a transaction of the party that takes it in the real market, at the date
the scenario gives (the contracts read the transaction time, so the network's peers
must accept dated proposals: `proposal_time_window: 0`, as the default network has).
Each step is printed as it commits: when, who, what, which organizations endorsed it
and the block it went into. The cycle ends with each entity's compliance status, the
conservation totals of allowances and funds (DOMAIN.md I2, I3) read back through the
regulator's view of the ledger, the 95 % milestone, and the cross-channel check of the
obligations' report references (§6.3).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from consortia.carbon import invariants
from consortia.carbon.reconcile import reconcile, report_ref
from consortia.carbon.session import Call, Outcome, Refused, Session, moment
from consortia.errors import ConsortiaError

MILESTONE95 = "2023-11-15"
PERIOD = {"vintages": [2021, 2022], "products": ["CEA21", "CEA22", "CCER"],
          "report_deadline": "2022-03-31T23:59+08:00", "verify_deadline": "2022-06-30T23:59+08:00",
          "surrender_deadline": "2023-12-31T17:00+08:00", "milestone95_date": MILESTONE95}
BM_SAMPLE = {"COAL_GT300": {"supply_kg_per_mwh": 877, "heat_kg_per_gj": 126},
             "COAL_LE300": {"supply_kg_per_mwh": 979, "heat_kg_per_gj": 126},
             "COAL_UNCONV": {"supply_kg_per_mwh": 1146, "heat_kg_per_gj": 126},
             "GAS": {"supply_kg_per_mwh": 392, "heat_kg_per_gj": 59}}


@dataclass(frozen=True)
class Entity:
    """A key emitting entity of the cycle, with SC-01's figures."""

    entity_id: str
    name: str
    user: str  # its client identity, ORG/USER
    est_annual_t: int
    monthly: tuple[tuple[int, int], tuple[int, int]]  # (t, MWh) of January-November each, and of December
    base_mwh: int  # pre-allocation base output [A2]

    @property
    def account(self) -> str:
        return f"A-{self.entity_id}"

    @property
    def totals(self) -> tuple[int, int]:
        (t, mwh), (dec_t, dec_mwh) = self.monthly
        return 11 * t + dec_t, 11 * mwh + dec_mwh


E1 = Entity("E1", "Dongfang Power", "Emitter/E1", 1_850_000, ((154_000, 166_000), (156_000, 174_000)), 1_900_000)
E2 = Entity("E2", "Nanhai Thermal", "Emitter/E2", 1_150_000, ((95_800, 116_600), (96_200, 117_400)), 1_300_000)
ENTITIES = (E1, E2)

PROVINCE = "ProvGD/Officer"
REGULATOR = "MEE/Regulator"
REGISTRY = "Registry/Operator"
EXCHANGE = "Exchange/Operator"
BANK = "Bank/Operator"
VERIFIER = "Verifier/V1"

# The plan and raw monthly documents only the province's collection keeps.
FINDINGS = hashlib.sha256(b"verification findings of V1 for 2021").hexdigest()


class CycleError(ConsortiaError):
    """The cycle cannot run here, or a step did not give SC-01's result."""


@dataclass(frozen=True)
class Summary:
    """What the cycle ended with, for the printout and for tests."""

    status: dict[str, str]  # entity -> compliance status
    products: list[invariants.ProductTotals]
    funds: invariants.FundTotals
    violations: list[str]
    milestone: tuple[int, int]  # entities done by milestone95_date, entities
    links: int  # obligations whose report reference matched
    mismatches: list[str]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ComplianceCycle:
    """SC-01 step by step; `say` prints each line (print, by default)."""

    def __init__(self, session: Session, say: Callable[[str], None] = print) -> None:
        self.session = session
        self.say = say
        self.steps = 0

    def run(self) -> Summary:
        self.check_fresh()
        self.fixture()
        self.registration()
        self.plans()
        self.monthly_data()
        self.annual_reports()
        self.verification()
        self.allocation()
        self.trade()
        self.ccer_and_surrender()
        self.compliance()
        return self.summary()

    # --- the steps ------------------------------------------------------------------

    def check_fresh(self) -> None:
        """The cycle books the 2021 vintage; it runs once per network."""
        periods = self.session.evaluate(REGULATOR, "trading", "trading", "query:records", "CFG")
        if any(entry["key"] == ["period", "CP2021-2022"] for entry in periods):
            raise CycleError("this network already holds period CP2021-2022 (the cycle has run on it); "
                             "start from a clean network: consortia network down --clean && consortia network up")

    def fixture(self) -> None:
        self.section("Common fixture: period CP2021-2022, benchmarks BM-SAMPLE, products CEA21 and CCER")
        at = "2021-01-04T09:00"
        self.step(Call(REGULATOR, "trading", "trading", "admin:init_period", ("CP2021-2022", json.dumps(PERIOD)), at))
        self.step(Call(REGULATOR, "trading", "trading", "admin:set_benchmarks", ("BM-SAMPLE", json.dumps(BM_SAMPLE)), at))
        products = [Call(EXCHANGE, "trading", "trading", "admin:list_product", ("CEA21", "CEA", 2021, 4900), at)]
        listed = self.session.evaluate(REGULATOR, "trading", "trading", "query:records", "PRODUCT")
        if not any(entry["key"] == ["CCER"] for entry in listed):  # one offset product for every period
            products.append(Call(EXCHANGE, "trading", "trading", "admin:list_product", ("CCER", "CCER", 0, 3000), at))
        self.step(*products)

    def registration(self) -> None:
        self.section("1. Registration")
        at = "2021-01-04T10:00"
        self.step(*(Call(PROVINCE, "data-sharing", "mrv", "mrv:register_entity",
                         (e.entity_id, e.name, "GD", "COAL_GT300", e.est_annual_t), at) for e in ENTITIES))
        self.step(*(Call(REGISTRY, "trading", "trading", "registry:open_account",
                         (e.account, e.entity_id, e.name, "GD", "COAL_GT300"), at) for e in ENTITIES))
        self.step(Call(BANK, "trading", "trading", "settlement:deposit", (E1.account, 300_000_000, "BR-0001"), at))
        self.expect("FUND~A-E1.available_fen", self.funds(E1)["available_fen"], 300_000_000)

    def plans(self) -> None:
        self.section("2. Monitoring plans (the documents go to the province's private collection)")
        plans = {e.entity_id: f"monitoring plan P1 of {e.entity_id}: coal sampling per GB/T 31391".encode()
                 for e in ENTITIES}
        self.step(*(Call(e.user, "data-sharing", "mrv", "mrv:submit_plan", (e.entity_id, "P1", sha(plans[e.entity_id])),
                         "2021-01-05T09:00", {"plan": plans[e.entity_id]}) for e in ENTITIES), together=True)
        self.step(*(Call(PROVINCE, "data-sharing", "mrv", "mrv:approve_plan", (e.entity_id, "P1"), "2021-01-05T11:00")
                    for e in ENTITIES))

    def monthly_data(self) -> None:
        self.section("3. Monthly data 2021 (raw data private; each month uploaded on the 10th of the next)")
        for month in range(1, 13):
            at = "2022-01-10T10:00" if month == 12 else f"2021-{month + 1:02d}-10T10:00"
            calls = []
            for e in ENTITIES:
                t, mwh = e.monthly[1] if month == 12 else e.monthly[0]
                raw = json.dumps({"entity": e.entity_id, "period": f"2021-{month:02d}", "coal_t": t // 2}).encode()
                calls.append(Call(e.user, "data-sharing", "mrv", "mrv:submit_monthly",
                                  (e.entity_id, f"2021-{month:02d}", t, mwh, 0, sha(raw)), at, {"raw": raw}))
            self.step(*calls, together=True)

    def annual_reports(self) -> None:
        self.section("4. Annual reports")
        self.step(*(Call(e.user, "data-sharing", "mrv", "mrv:submit_annual_report",
                         (e.entity_id, 2021, *e.totals, 0, sha(f"annual report 2021 of {e.entity_id}".encode())),
                         "2022-03-20T10:00") for e in ENTITIES), together=True)
        for e in ENTITIES:
            report = self.report(e)
            self.expect(f"AR~{e.entity_id}~2021~v1", (report["emissions_t"], report["status"], report["late"]),
                        (e.totals[0], "SUBMITTED", False))

    def verification(self) -> None:
        self.section("5. Verification")
        self.step(*(Call(PROVINCE, "data-sharing", "mrv", "mrv:assign_verifier", (e.entity_id, 2021, "V1"),
                         "2022-04-01T10:00") for e in ENTITIES))
        self.step(*(Call(VERIFIER, "data-sharing", "mrv", "mrv:submit_verification",
                         (e.entity_id, 2021, *e.totals, 0, FINDINGS), "2022-06-10T10:00") for e in ENTITIES))
        self.step(*(Call(PROVINCE, "data-sharing", "mrv", "mrv:confirm_verification", (e.entity_id, 2021),
                         "2022-06-15T10:00") for e in ENTITIES))
        for e in ENTITIES:
            self.expect(f"AR~{e.entity_id}~2021~v1 status", self.report(e)["status"], "VERIFIED")

    def allocation(self) -> None:
        self.section("6. Pre-allocation (70 % of the benchmark on the base output)")
        self.step(*(Call(PROVINCE, "trading", "trading", "registry:issue_allocation",
                         (e.entity_id, 2021, "PRE", "BM-SAMPLE", e.base_mwh, 0, 1000), "2023-04-20T10:00")
                    for e in ENTITIES))
        self.expect("CEA21 of A-E1, A-E2", [self.held(e, "CEA21") for e in ENTITIES], [1_166_410, 798_070])
        self.section("7. Final allocation and obligations (on the verified reports)")
        self.step(*(Call(PROVINCE, "trading", "trading", "registry:issue_allocation",
                         (e.entity_id, 2021, "FINAL", "BM-SAMPLE", e.totals[1], 0, 1000), "2023-07-10T10:00")
                    for e in ENTITIES))
        self.step(*(Call(PROVINCE, "trading", "trading", "registry:set_obligation",
                         (e.entity_id, 2021, self.report(e)["verified_emissions_t"], report_ref(self.report(e))),
                         "2023-07-10T11:00") for e in ENTITIES))
        obligations = [self.vintage(e)["obligation_t"] for e in ENTITIES]
        self.expect("obligations of E1, E2", obligations, [1_850_000, 1_150_000])
        self.expect("ccer_cap of E1", self.vintage(E1)["ccer_cap_t"], 92_500)

    def trade(self) -> None:
        self.section("8. Trade on 2023-09-05 (listing 46,000 t at 50.00 CNY, taken by E1)")
        self.step(Call(E2.user, "trading", "trading", "exchange:post_listing",
                       ("O1", E2.account, "SELL", "CEA21", 46_000, 5_000), "2023-09-05T10:15"))
        self.expect("A-E2 CEA21 available, frozen", self.holding(E2, "CEA21"), (1_181_800, 46_000))
        self.step(Call(E1.user, "trading", "trading", "exchange:take_listing", ("O2", "O1", E1.account, 46_000),
                       "2023-09-05T10:20"))
        self.expect("A-E1 funds frozen", self.funds(E1)["frozen_fen"], 230_000_000)
        self.section("9. Settlement after the close")
        self.step(Call(EXCHANGE, "trading", "trading", "settlement:settle_day", ("2023-09-05",), "2023-09-05T15:30"))
        self.expect("CEA21 of A-E1, A-E2", [self.held(e, "CEA21") for e in ENTITIES], [1_800_000, 1_181_800])
        self.expect("funds of A-E1, A-E2", [self.funds(e)["available_fen"] for e in ENTITIES],
                    [70_000_000, 230_000_000])
        day = self.session.evaluate(REGULATOR, "trading", "trading", "query:market_day", "CEA21", "2023-09-05")
        self.expect("DAY~CEA21~2023-09-05 open, close, VWAP", (day["open_fen"], day["close_fen"], day["vwap_fen"]),
                    (5_000, 5_000, 5_000))

    def ccer_and_surrender(self) -> None:
        self.section("10. CCER batch B1 into A-E1")
        self.step(Call(REGISTRY, "trading", "trading", "registry:import_ccer",
                       ("B1", E1.account, "P-WIND-1", False, 50_000, 2020), "2023-09-10T10:00"))
        self.section("11. Surrender")
        self.step(Call(E1.user, "trading", "trading", "registry:surrender",
                       ("E1", 2021, [{"product": "CEA21", "qty_t": 1_800_000},
                                     {"product": "CCER", "qty_t": 50_000, "batch_id": "B1"}]), "2023-10-20T10:00"),
                  Call(E2.user, "trading", "trading", "registry:surrender",
                       ("E2", 2021, [{"product": "CEA21", "qty_t": 1_150_000}]), "2023-10-20T11:00"))
        self.expect("CEA21 left in A-E2", self.held(E2, "CEA21"), 31_800)

    def compliance(self) -> None:
        self.section("12. Compliance, after the surrender deadline")
        self.step(*(Call(PROVINCE, "trading", "trading", "registry:evaluate_compliance", (e.entity_id, 2021),
                         "2024-01-02T10:00") for e in ENTITIES))

    # --- the end --------------------------------------------------------------------

    def summary(self) -> Summary:
        records = invariants.trading_records(self.session, REGULATOR)
        status = {e.entity_id: self.vintage(e)["status"] for e in ENTITIES}
        milestone = moment(MILESTONE95 + "T23:59:59")
        done = sum(1 for e in ENTITIES if (at := self.vintage(e).get("completed_at")) and moment(at) <= milestone)
        links = reconcile(self.session)
        summary = Summary(status, invariants.product_totals(records), invariants.fund_totals(records),
                          invariants.violations(records), (done, len(ENTITIES)), sum(link.matches for link in links),
                          [f"{link.entity_id} {link.vintage}: {link.problem}" for link in links if not link.matches])
        self.say("")
        self.say("Compliance of the 2021 vintage:")
        for entity_id, state in status.items():
            self.say(f"  {entity_id}  {state}")
        self.say(f"  milestone {MILESTONE95}: {done}/{len(ENTITIES)} entities complete "
                 f"({100 * done // len(ENTITIES)} %, 95 % required)")
        self.say("Conservation (held + retired + cancelled = issued - clawed back):")
        for p in summary.products:
            self.say(f"  {p.product:<6} {p.held_t:>12,} + {p.retired_t:>12,} + {p.cancelled_t:,} = "
                     f"{p.issued_t:>12,} - {p.clawed_back_t:,} t  {'holds' if p.conserved else 'BROKEN'}")
        funds = summary.funds
        self.say(f"  funds  {funds.held_fen:>12,} fen held = {funds.deposited_fen:,} deposited - "
                 f"{funds.withdrawn_fen:,} withdrawn  {'holds' if funds.conserved else 'BROKEN'}")
        self.say(f"Invariants I1-I5, I7-I9, I12: {'all hold' if not summary.violations else ''}")
        for line in summary.violations:
            self.say(f"  {line}")
        self.say(f"Cross-channel check: {summary.links} obligation(s) rest on their VERIFIED report"
                 + ("" if not summary.mismatches else f", {len(summary.mismatches)} do not:"))
        for line in summary.mismatches:
            self.say(f"  {line}")
        return summary

    # --- helpers --------------------------------------------------------------------

    def section(self, title: str) -> None:
        self.say("")
        self.say(title)

    def step(self, *calls: Call, together: bool = False) -> list[Outcome]:
        """Submit the calls one after the other, or `together` (into one block, for calls
        that touch no common key: two writes of one anchor in a block would make the
        second invalid), and print each."""
        try:
            batches = [calls] if together else [(call,) for call in calls]
            outcomes = [outcome for batch in batches for outcome in self.session.submit_all(batch)]
        except Refused as exc:
            raise CycleError(f"step {self.steps + 1} failed: {exc}") from exc
        for call, outcome in zip(calls, outcomes, strict=True):
            self.steps += 1
            when = moment(call.at or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M")
            args = " ".join(_shown(a) for a in call.args)
            self.say(f"  {self.steps:>3}. {when}  {call.user:<17} {call.chaincode}.{call.function} {args}")
            self.say(f"       endorsed by {', '.join(sorted(outcome.endorsers))}; block {outcome.block} "
                     f"of {call.channel}")
        return outcomes

    def expect(self, what: str, found: object, wanted: object) -> None:
        if found != wanted:
            raise CycleError(f"{what}: expected {wanted}, found {found}")
        self.say(f"       {what}: {_shown(found)}")

    def report(self, e: Entity) -> Any:
        return self.session.evaluate(REGULATOR, "data-sharing", "mrv", "mrv:get_report", e.entity_id, 2021)

    def holding(self, e: Entity, product: str) -> tuple[int, int]:
        held = self.session.evaluate(REGISTRY, "trading", "trading", "query:get_holdings", e.account)["holdings"]
        return held[product]["available_t"], held[product]["frozen_t"]

    def held(self, e: Entity, product: str) -> int:
        return self.holding(e, product)[0]

    def funds(self, e: Entity) -> Any:
        return self.session.evaluate(REGISTRY, "trading", "trading", "query:get_account", e.account)["funds"]

    def vintage(self, e: Entity) -> Any:
        entity = self.session.evaluate(REGULATOR, "trading", "trading", "query:get_entity", e.entity_id)
        return entity["vintages"]["2021"]


def _shown(value: object) -> str:
    """A value for the printout: quantities with thousands separators, long JSON cut short."""
    if isinstance(value, bool):
        return json.dumps(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, tuple):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    text = ("[" + ", ".join(_shown(v) for v in value) + "]") if isinstance(value, list) else \
        json.dumps(value) if isinstance(value, dict) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def run(session: Session, say: Callable[[str], None] = print) -> Summary:
    return ComplianceCycle(session, say).run()

