"""mrv.get_history (DOMAIN.md §5.1; SC-08): every version of an annual report, oldest
first, with its status; any member of the channel reads it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.chaincode.mrv.flow import REASON, record, refused, reported, verify

pytestmark = pytest.mark.unit

MEMBERS = ["regulator", "gd", "sd", "V1", "auditor", "E1", "E2"]


@pytest.fixture
def upheld(mrv: Any) -> Any:
    """SC-08: AR~E2~2021~v1 VERIFIED 2022-06-15 with 1,150,000 t, objection filed
    2022-06-22 and upheld 2022-07-01 with 1,140,000 t; E1 reported, not verified."""
    reported(mrv, "E1", "E2")
    verify(mrv, "E2")
    mrv.call("E2", "file_objection", "E2", 2021, REASON, at="2022-06-22T10:00")
    mrv.call("gd", "decide_objection", "E2", 2021, "1", "UPHELD", 1_140_000, at="2022-07-01T10:00")
    return mrv


@pytest.mark.parametrize("who", MEMBERS)
def test_sc08_history_shows_v1_superseded_and_v2_verified(upheld: Any, who: str) -> None:
    history = upheld.call(who, "get_history", "E2", 2021)

    assert history == [record(upheld, "AR", "E2", "2021", "v1"), record(upheld, "AR", "E2", "2021", "v2")]
    assert [(r["version"], r["status"]) for r in history] == [(1, "SUPERSEDED"), (2, "VERIFIED")]
    assert history[0]["verified_emissions_t"] == 1_150_000  # v1's numbers never change
    assert history[1]["verified_emissions_t"] == 1_140_000
    assert upheld.call(who, "get_report", "E2", 2021) == history[1]


def test_history_of_a_report_with_one_version(upheld: Any) -> None:
    assert upheld.call("auditor", "get_history", "E1", 2021) == [record(upheld, "AR", "E1", "2021", "v1")]
    assert upheld.call("auditor", "get_history", "E1", 2021)[0]["status"] == "SUBMITTED"


def test_history_keeps_version_order_past_nine(upheld: Any) -> None:
    # ten objections upheld one after the other: v10 sorts after v9, not after v1
    for seq in range(2, 10):
        at = "2022-07-04T10:00" if seq % 2 == 0 else "2022-07-05T10:00"
        upheld.call("E2", "file_objection", "E2", 2021, REASON, at=at)
        upheld.call("gd", "decide_objection", "E2", 2021, str(seq), "UPHELD", 1_140_000 - seq, at=at)

    history = upheld.call("auditor", "get_history", "E2", 2021)

    assert [r["version"] for r in history] == list(range(1, 11))
    assert [r["status"] for r in history] == ["SUPERSEDED"] * 9 + ["VERIFIED"]


def test_history_of_no_report_is_not_found(upheld: Any) -> None:
    refused(upheld, "ERR_NOT_FOUND", "auditor", "get_history", "E2", 2020, naming="E2")
    refused(upheld, "ERR_NOT_FOUND", "regulator", "get_history", "E4", 2021, naming="E4")


def test_get_history_checks_its_arguments(upheld: Any) -> None:
    refused(upheld, "ERR_INVALID_ARGUMENT", "auditor", "get_history", "E 2", 2021, naming="entity_id")
    refused(upheld, "ERR_INVALID_ARGUMENT", "auditor", "get_history", "E2", 1999, naming="year")
