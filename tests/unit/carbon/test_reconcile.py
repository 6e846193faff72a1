"""consortia.carbon.reconcile against canned ledgers: every kind of broken link between
an obligation on `trading` and the report it names on `data-sharing` is reported, and
a sound one is not."""

from __future__ import annotations

from typing import Any

import pytest

from consortia.carbon.reconcile import reconcile, report_digest, report_ref
from consortia.carbon.session import Refused

pytestmark = pytest.mark.unit

V1 = {"entity_id": "E1", "year": 2021, "version": 1, "status": "VERIFIED", "verified_emissions_t": 1_850_000}


class Ledgers:
    """What the regulator reads: ENT records on trading, report histories on data-sharing."""

    def __init__(self, vintage: dict[str, Any], history: list[dict[str, Any]] | None) -> None:
        self.entities = [{"key": ["E1"], "record": {"vintages": {"2021": vintage, "2022": {"obligation_t": None}}}}]
        self.history = history

    def evaluate(self, user: str, channel: str, chaincode: str, function: str, *args: object) -> Any:
        assert user == "MEE/Regulator"
        if (channel, function) == ("trading", "query:records"):
            return self.entities
        assert (channel, chaincode, function, args) == ("data-sharing", "mrv", "mrv:get_history", ("E1", 2021))
        if self.history is None:
            raise Refused("ERR_NOT_FOUND", "ERR_NOT_FOUND: AR~E1~2021 has no report")
        return self.history


def problems(vintage: dict[str, Any], history: list[dict[str, Any]] | None) -> list[str]:
    links = reconcile(Ledgers(vintage, history))  # type: ignore[arg-type]
    return [link.problem for link in links]


def obligation(ref: str, verified_t: int = 1_850_000) -> dict[str, Any]:
    return {"obligation_t": 1_850_000, "verified_emissions_t": verified_t, "report_ref": ref}


def test_a_reference_to_the_verified_report_matches() -> None:
    assert report_ref(V1) == f"mrv:AR~E1~2021~v1:{report_digest(V1)}"
    assert problems(obligation(report_ref(V1)), [V1]) == [""]  # the 2022 vintage has no obligation: not checked


@pytest.mark.parametrize(("ref", "history", "verified_t", "problem"), [
    ("AR~E1~2021~v1", [V1], 1_850_000, "is not of the form mrv:AR~<entity>~<year>~v<n>:<sha256>"),
    (report_ref({**V1, "entity_id": "E2"}), [V1], 1_850_000, "report_ref names the report of E2 for 2021"),
    (report_ref({**V1, "version": 2}), [V1], 1_850_000, "data-sharing has no version 2 of the 2021 report of E1"),
    (report_ref(V1), None, 1_850_000, "data-sharing has no version 1 of the 2021 report of E1"),
    (report_ref(V1), [{**V1, "status": "SUPERSEDED"}, {**V1, "version": 2}], 1_850_000,
     "report v1 is SUPERSEDED (newest: v2)"),
    (report_ref(V1), [{**V1, "status": "UNDER_VERIFICATION"}], 1_850_000, "report v1 is UNDER_VERIFICATION"),
    (report_ref(V1), [{**V1, "verified_emissions_t": 1_849_999}], 1_850_000, "has digest"),
    (report_ref(V1), [V1], 1_900_000, "the obligation rests on 1900000 t verified, report v1 says 1850000 t"),
])
def test_each_broken_link_is_named(ref: str, history: list[dict[str, Any]] | None, verified_t: int,
                                   problem: str) -> None:
    (found,) = problems(obligation(ref, verified_t), history)
    assert problem in found


def test_other_refusals_are_not_taken_for_a_missing_report() -> None:
    class Down(Ledgers):
        def evaluate(self, user: str, channel: str, chaincode: str, function: str, *args: object) -> Any:
            if channel == "data-sharing":
                raise Refused("UNAVAILABLE", "no peer answered")
            return super().evaluate(user, channel, chaincode, function, *args)

    with pytest.raises(Refused, match="no peer answered"):
        reconcile(Down(obligation(report_ref(V1)), [V1]))  # type: ignore[arg-type]
