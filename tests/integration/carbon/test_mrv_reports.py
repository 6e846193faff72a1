"""DOMAIN.md §8 SC-08 on a real network: a verified annual report is immutable, and an
objection to it creates a new version. With the key-level endorsement of the report
(§6.2: once its verification is submitted, changing its status needs the province's AND
the ministry's peers) and invariant I6 (§5.4: the verified numbers of a version never
change), checked on `mrv:get_history` after every step, refused ones included.

Entities E18 (SC-08's E2: 1,150,000 t verified, objection upheld with 1,140,000 t) and
E19 (an objection filed on the last allowed day, decided too late, then dismissed), both
of Guangdong, reporting year 2021; nothing on the trading channel. Each step is a
module-scoped fixture that builds on the one before, so a test may run alone.

Working days after the confirmation on Wed 2022-06-15: 06-22 is the 5th, 06-24 the 7th,
06-27 the 8th. After a filing on Fri 06-24: 07-08 is the 10th, 07-11 the 11th.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from consortia.carbon.session import Call, Outcome, Refused
from tests.support.carbon import CarbonMarket

pytestmark = pytest.mark.integration

PROVINCE, REGULATOR, VERIFIER, AUDITOR = "ProvGD/Officer", "MEE/Regulator", "Verifier/V1", "Audit/Auditor"
YEAR = 2021
# entity: (name, (Jan-Nov each month, December) as (t, MWh), the year's totals (t, MWh))
ENTITIES = {"E18": ("Zhanjiang Thermal", ((95_800, 116_600), (96_200, 117_400)), (1_150_000, 1_400_000)),
            "E19": ("Shaoguan Power", ((75_000, 80_000), (75_000, 80_000)), (900_000, 960_000))}
FINDINGS = "f0" * 32
REASON = "0b" * 32
CONFIRMED = "2022-06-15T10:00"  # Wednesday
NUMBERS = ("emissions_t", "power_supplied_mwh", "heat_supplied_gj",
           "verified_emissions_t", "verified_power_mwh", "verified_heat_gj")
# The only fields of a verified version that may change (VERIFIED -> SUPERSEDED).
STATUS_FIELDS = ("status", "superseded_by")
FINAL = ("VERIFIED", "SUPERSEDED")

Reading = dict[str, list[dict[str, Any]]]  # entity -> its report's versions, oldest first


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def report_hash(entity: str) -> str:
    return sha(f"annual report {YEAR} of {entity}".encode())


@dataclass
class Story:
    """The network, and `get_history` of E18's and E19's reports after every step:
    each reading is checked against every earlier one for I6 as it is taken."""

    market: CarbonMarket
    readings: list[tuple[str, Reading]] = field(default_factory=list)

    def history(self, entity: str, reader: str = AUDITOR) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.market.query(reader, "data-sharing", "mrv", "mrv:get_history", entity, YEAR)
        return found

    def read(self, step: str) -> Reading:
        """The histories after `step`; fails if a version verified before has changed
        anything but its status (VERIFIED -> SUPERSEDED) and `superseded_by`."""
        now = {entity: self.history(entity) for entity in ENTITIES}
        for earlier_step, earlier in self.readings:
            for entity, versions in earlier.items():
                for before in versions:
                    if before["status"] not in FINAL:
                        continue
                    after = now[entity][before["version"] - 1]
                    assert after["version"] == before["version"]
                    assert after["status"] in FINAL, f"{entity} v{after['version']} is {after['status']}"
                    assert (before["status"], after["status"]) != ("SUPERSEDED", "VERIFIED")
                    assert unstatused(after) == unstatused(before), (
                        f"I6: {entity} v{before['version']} changed between '{earlier_step}' and '{step}'")
        self.readings.append((step, now))
        return now

    def unchanged(self, step: str) -> None:
        """After a refused `step`: both histories exactly as before it."""
        assert self.readings, "no reading before the step"
        before = self.readings[-1][1]
        assert self.read(step) == before, f"refused step '{step}' changed a report"

    def commit(self, user: str, function: str, *args: object, at: str,
               transient: Mapping[str, bytes] | None = None) -> Outcome:
        """A committed call of mrv:`function` (fails the test otherwise)."""
        return self.market.mrv(user, function, *args, at=at, transient=transient)

    def commit_all(self, *calls: Call) -> list[Outcome]:
        """Calls that touch no common key, into one block (fails the test if one does not commit)."""
        try:
            outcomes = self.market.session.submit_all(calls)
        except Refused as exc:
            pytest.fail(f"{[(c.user, c.function, c.args) for c in calls]}: {exc}")
        return outcomes

    def latest(self, entity: str) -> list[dict[str, Any]]:
        return self.readings[-1][1][entity]

    def refused(self, code: str, user: str, function: str, *args: object, at: str,
                endorsers: list[str] | None = None, naming: str = "") -> str:
        """The message of a call of mrv:`function` that did not go through with `code`;
        checks that neither report changed."""
        message = self.market.refused(code, user, "data-sharing", "mrv", f"mrv:{function}", *args, at=at,
                                      endorsers=endorsers, naming=naming)
        self.unchanged(f"{user} {function} {args} at {at} (refused)")
        return message


def unstatused(version: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in version.items() if k not in STATUS_FIELDS}


def numbers(version: Mapping[str, Any]) -> tuple[int, ...]:
    return tuple(int(version[name]) for name in NUMBERS)


def mrv_call(user: str, function: str, *args: object, at: str, transient: Mapping[str, bytes] | None = None) -> Call:
    return Call(user, "data-sharing", "mrv", f"mrv:{function}", args, at, transient)


# ----- the steps ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def under_verification(market: CarbonMarket) -> Story:
    """SC-01 steps 1-5 for E18 and E19 but the confirmation: listed, plan approved, the
    twelve months of 2021 uploaded on the 10th of the next month, reported 2022-03-20,
    V1 assigned 2022-04-01 and its figures (equal to the reports) submitted 2022-06-10."""
    story = Story(market)
    for entity, (name, _, (total_t, _)) in ENTITIES.items():  # both touch PROVMRV~GD: one at a time
        story.commit(PROVINCE, "register_entity", entity, name, "GD", "COAL_GT300", total_t, at="2021-01-04T09:00")
    plans = {entity: f"data quality control plan of {entity}: coal sampling per GB/T 31391".encode()
             for entity in ENTITIES}
    story.commit_all(*(mrv_call(f"Emitter/{e}", "submit_plan", e, "P1", sha(plans[e]), at="2021-01-05T09:00",
                                transient={"plan": plans[e]}) for e in ENTITIES))
    for entity in ENTITIES:
        story.commit(PROVINCE, "approve_plan", entity, "P1", at="2021-01-05T11:00")
    for month in range(1, 13):  # a month of each entity per block (each touches its ENTMRV~)
        at = f"{YEAR + 1}-01-10T10:00" if month == 12 else f"{YEAR}-{month + 1:02d}-10T10:00"
        calls = []
        for entity, (_, (regular, december), _) in ENTITIES.items():
            t, mwh = december if month == 12 else regular
            period = f"{YEAR}-{month:02d}"
            raw = f'{{"entity":"{entity}","period":"{period}","coal_t":81234,"ncv_gj_per_t":21.5}}'.encode()
            calls.append(mrv_call(f"Emitter/{entity}", "submit_monthly", entity, period, t, mwh, 0, sha(raw), at=at,
                                  transient={"raw": raw}))
        story.commit_all(*calls)
    story.commit_all(*(mrv_call(f"Emitter/{e}", "submit_annual_report", e, YEAR, t, mwh, 0, report_hash(e),
                                at="2022-03-20T10:00") for e, (_, _, (t, mwh)) in ENTITIES.items()))
    story.commit_all(*(mrv_call(PROVINCE, "assign_verifier", e, YEAR, "V1", at="2022-04-01T10:00") for e in ENTITIES))
    story.commit_all(*(mrv_call(VERIFIER, "submit_verification", e, YEAR, t, mwh, 0, FINDINGS, at="2022-06-10T10:00")
                       for e, (_, _, (t, mwh)) in ENTITIES.items()))
    story.read("verification submitted 2022-06-10")
    return story


@dataclass(frozen=True)
class Verified:
    story: Story
    alone: str  # the message of the confirmation endorsed by the province's peer alone
    after_alone: list[dict[str, Any]]  # E18's history after it
    confirmed: dict[str, Outcome]


@pytest.fixture(scope="module")
def verified(under_verification: Story) -> Verified:
    """2022-06-15: ProvGD confirms E18's figures with its own peer's endorsement only
    (refused), then as the gateway plans it; then E19's."""
    story = under_verification
    alone = story.refused("ENDORSEMENT_POLICY_FAILURE", PROVINCE, "confirm_verification", "E18", YEAR, at=CONFIRMED,
                          endorsers=["ProvGDMSP"], naming="failed to commit")
    after_alone = story.latest("E18")
    confirmed = {entity: story.commit(PROVINCE, "confirm_verification", entity, YEAR, at=CONFIRMED)
                 for entity in ENTITIES}
    story.read("confirmed 2022-06-15")
    return Verified(story, alone, after_alone, confirmed)


@dataclass(frozen=True)
class Objected:
    story: Story
    filed: dict[str, Outcome]


@pytest.fixture(scope="module")
def objected(verified: Verified) -> Objected:
    """E18 objects on 2022-06-22 (5th working day), E19 on 2022-06-24 (7th, the last)."""
    story = verified.story
    filed = {"E18": story.commit("Emitter/E18", "file_objection", "E18", YEAR, REASON, at="2022-06-22T10:00")}
    story.read("E18 objected 2022-06-22")
    filed["E19"] = story.commit("Emitter/E19", "file_objection", "E19", YEAR, REASON, at="2022-06-24T23:59")
    story.read("E19 objected 2022-06-24")
    return Objected(story, filed)


@dataclass(frozen=True)
class Upheld:
    story: Story
    before: list[dict[str, Any]]  # E18's history before the decision
    alone: str  # the message of the decision endorsed by the province's peer alone
    decided: Outcome


@pytest.fixture(scope="module")
def upheld(objected: Objected) -> Upheld:
    """2022-07-01: ProvGD upholds E18's objection with 1,140,000 t, first endorsed by its
    own peer alone (refused), then as the gateway plans it."""
    story = objected.story
    before = story.latest("E18")
    alone = story.refused("ENDORSEMENT_POLICY_FAILURE", PROVINCE, "decide_objection", "E18", YEAR, "1", "UPHELD",
                          1_140_000, at="2022-07-01T10:00", endorsers=["ProvGDMSP"], naming="failed to commit")
    decided = story.commit(PROVINCE, "decide_objection", "E18", YEAR, "1", "UPHELD", 1_140_000, at="2022-07-01T10:00")
    story.read("E18's objection upheld 2022-07-01")
    return Upheld(story, before, alone, decided)


# ----- the tests ------------------------------------------------------------------------


def test_the_reports_are_under_verification_with_v1s_figures(under_verification: Story) -> None:
    first = under_verification.readings[0][1]
    for entity, (_, _, (t, mwh)) in ENTITIES.items():
        (v1,) = first[entity]
        assert (v1["version"], v1["status"], v1["late"], v1["report_hash"]) == (
            1, "UNDER_VERIFICATION", False, report_hash(entity))
        assert numbers(v1) == (t, mwh, 0, t, mwh, 0)
        assert (v1["verifier"], v1["findings_hash"]) == ("V1", FINDINGS)
        assert "verified_at" not in v1


def test_confirming_a_verification_needs_the_ministry_as_well_as_the_province(verified: Verified) -> None:
    """§6.2: from the verification's submission on, AR~E18~2021~v1 carries AND(ProvGD, MEE)."""
    assert "ENDORSEMENT_POLICY_FAILURE" in verified.alone
    assert [(v["status"], "verified_at" in v) for v in verified.after_alone] == [("UNDER_VERIFICATION", False)]
    for entity, confirmed in verified.confirmed.items():
        assert sorted(confirmed.endorsers) == ["MEEMSP", "ProvGDMSP"], entity
    after = dict(verified.story.readings)["confirmed 2022-06-15"]
    for entity, (_, _, (t, mwh)) in ENTITIES.items():
        (v1,) = after[entity]
        assert (v1["status"], v1["verified_at"]) == ("VERIFIED", "2022-06-15T10:00:00+08:00")
        assert numbers(v1) == (t, mwh, 0, t, mwh, 0)


def test_sc08_e18_or_provgd_cannot_change_a_verified_report(verified: Verified) -> None:
    """No function edits a verified report: every one that would write v1 again (E18
    reporting other emissions, ProvGD reopening or re-confirming the verification, the
    verifier submitting other figures) is ERR_IMMUTABLE."""
    story, at = verified.story, "2022-06-16T10:00"
    immutable = "AR~E18~2021~v1 is VERIFIED and may not change"
    story.refused("ERR_IMMUTABLE", "Emitter/E18", "submit_annual_report", "E18", YEAR, 1_140_000, 1_400_000, 0,
                  report_hash("E18"), at=at, naming=immutable)
    story.refused("ERR_IMMUTABLE", PROVINCE, "assign_verifier", "E18", YEAR, "V2", at=at, naming=immutable)
    story.refused("ERR_IMMUTABLE", PROVINCE, "confirm_verification", "E18", YEAR, at=at, naming=immutable)
    story.refused("ERR_IMMUTABLE", VERIFIER, "submit_verification", "E18", YEAR, 1_140_000, 1_400_000, 0, FINDINGS,
                  at=at, naming=immutable)
    (v1,) = story.latest("E18")
    assert (v1["status"], v1["verified_emissions_t"]) == ("VERIFIED", 1_150_000)


def test_sc08_an_objection_on_the_8th_working_day_is_too_late(verified: Verified) -> None:
    verified.story.refused("ERR_DEADLINE", "Emitter/E18", "file_objection", "E18", YEAR, REASON, at="2022-06-27T10:00",
                           naming="within 7 working days after 2022-06-15T10:00:00+08:00, found 8")


def test_sc08_an_objection_on_the_5th_or_7th_working_day_is_accepted(objected: Objected) -> None:
    for entity, filed in objected.filed.items():
        # the objection touches ENTMRV~{entity}: the emitters' and the province's peers
        assert sorted(filed.endorsers) == ["EmitterMSP", "ProvGDMSP"], entity
    readings = dict(objected.story.readings)
    for entity, (_, _, (t, _)) in ENTITIES.items():  # filing changes no report
        (v1,) = readings["E19 objected 2022-06-24"][entity]
        assert (v1["version"], v1["status"], v1["verified_emissions_t"]) == (1, "VERIFIED", t)
    objected.story.refused("ERR_CONFLICT", "Emitter/E18", "file_objection", "E18", YEAR, REASON,
                           at="2022-06-23T10:00", naming="pending")


def test_superseding_a_verified_report_needs_the_ministry_as_well_as_the_province(upheld: Upheld) -> None:
    assert "ENDORSEMENT_POLICY_FAILURE" in upheld.alone
    assert sorted(upheld.decided.endorsers) == ["MEEMSP", "ProvGDMSP"]


def test_sc08_upholding_makes_v2_verified_and_v1_superseded_with_unchanged_numbers(upheld: Upheld) -> None:
    (v1_before,) = upheld.before
    v1, v2 = dict(upheld.story.readings)["E18's objection upheld 2022-07-01"]["E18"]
    assert v1 == {**v1_before, "status": "SUPERSEDED", "superseded_by": 2}
    assert numbers(v1) == (1_150_000, 1_400_000, 0, 1_150_000, 1_400_000, 0)
    assert v2 == {**v1_before, "version": 2, "status": "VERIFIED", "verified_emissions_t": 1_140_000,
                  "verified_at": "2022-07-01T10:00:00+08:00", "objection_seq": "1"}
    # every member of the channel reads both versions; the current report is v2
    for reader in (AUDITOR, REGULATOR, PROVINCE, VERIFIER, "Emitter/E18"):
        assert upheld.story.history("E18", reader) == [v1, v2], reader
    assert upheld.story.market.query(AUDITOR, "data-sharing", "mrv", "mrv:get_report", "E18", YEAR) == v2


def test_sc08_neither_version_changes_after_the_decision(upheld: Upheld) -> None:
    story, at = upheld.story, "2022-07-04T10:00"
    story.refused("ERR_IMMUTABLE", "Emitter/E18", "submit_annual_report", "E18", YEAR, 1_150_000, 1_400_000, 0,
                  report_hash("E18"), at=at, naming="AR~E18~2021~v2 is VERIFIED")
    story.refused("ERR_IMMUTABLE", PROVINCE, "confirm_verification", "E18", YEAR, at=at,
                  naming="AR~E18~2021~v2 is VERIFIED")
    story.refused("ERR_CONFLICT", PROVINCE, "decide_objection", "E18", YEAR, "1", "UPHELD", 1_130_000, at=at,
                  naming="already UPHELD")
    assert [(v["status"], v["verified_emissions_t"]) for v in story.latest("E18")] == [
        ("SUPERSEDED", 1_150_000), ("VERIFIED", 1_140_000)]


def test_sc08_a_decision_after_the_10th_working_day_is_too_late(objected: Objected) -> None:
    """E19 objected on Fri 2022-06-24: 07-11 is the 11th working day after, 07-08 the 10th."""
    story = objected.story
    story.refused("ERR_DEADLINE", PROVINCE, "decide_objection", "E19", YEAR, "1", "UPHELD", 890_000,
                  at="2022-07-11T10:00", naming="within 10 working days after 2022-06-24T23:59:00+08:00, found 11")
    dismissed = story.commit(PROVINCE, "decide_objection", "E19", YEAR, "1", "DISMISSED", "", at="2022-07-08T23:59")
    assert sorted(dismissed.endorsers) == ["MEEMSP", "ProvGDMSP"]  # OBJ~E19~2021~1 carries AND(ProvGD, MEE)
    story.read("E19's objection dismissed 2022-07-08")
    (v1,) = story.latest("E19")
    assert (v1["status"], v1["verified_emissions_t"], v1["verified_at"]) == (
        "VERIFIED", 900_000, "2022-06-15T10:00:00+08:00")
    assert "superseded_by" not in v1


def test_i6_the_verified_numbers_of_a_version_never_changed(upheld: Upheld) -> None:
    """Every reading taken (each also checked against all earlier ones as it was taken):
    once verified, a version shows one set of numbers only."""
    seen: dict[tuple[str, int], set[tuple[int, ...]]] = {}
    for _, reading in upheld.story.readings:
        for entity, versions in reading.items():
            for version in versions:
                if version["status"] in FINAL:
                    seen.setdefault((entity, version["version"]), set()).add(numbers(version))
    assert seen[("E18", 1)] == {(1_150_000, 1_400_000, 0, 1_150_000, 1_400_000, 0)}
    assert seen[("E18", 2)] == {(1_150_000, 1_400_000, 0, 1_140_000, 1_400_000, 0)}
    assert seen[("E19", 1)] == {(900_000, 960_000, 0, 900_000, 960_000, 0)}
    # at least: verification submitted, confirmation refused, confirmed, two objections,
    # decision refused, upheld
    assert len(upheld.story.readings) >= 7
