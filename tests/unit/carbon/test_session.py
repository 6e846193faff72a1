"""consortia.carbon.session without a network: what a failed call comes to, and the
times the scenarios give."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

from consortia.carbon.session import moment, refusal
from consortia.client.errors import CommitError, EndorseError, ErrorDetail

pytestmark = pytest.mark.unit


def test_the_contracts_refusal_is_found_in_what_the_endorsers_said() -> None:
    error = EndorseError("failed to endorse transaction, see attached details for more info", grpc.StatusCode.ABORTED,
                         [ErrorDetail("127.0.0.1:7130", "RegistryMSP",
                                      "chaincode response 500, ERR_QTY_RULE: a listing is below 100000 t")],
                         transaction_id="ab12")
    refused = refusal(error)
    assert refused.code == "ERR_QTY_RULE"
    assert str(refused) == "ERR_QTY_RULE: a listing is below 100000 t"


def test_an_invalid_transaction_is_refused_with_its_validation_code() -> None:
    refused = refusal(CommitError("ab12", 10))
    assert refused.code == "ENDORSEMENT_POLICY_FAILURE" and "ab12" in str(refused)


def test_any_other_failure_keeps_its_grpc_code() -> None:
    error = EndorseError("no peers of Org9MSP are known", grpc.StatusCode.UNAVAILABLE, transaction_id="ab12")
    refused = refusal(error)
    assert refused.code == "UNAVAILABLE" and "Org9MSP" in str(refused)


def test_times_are_beijing_time_unless_they_say_otherwise() -> None:
    assert moment("2023-09-05T10:15") == dt.datetime(2023, 9, 5, 2, 15, tzinfo=dt.UTC)
    assert moment("2023-09-05T10:15+00:00").utcoffset() == dt.timedelta(0)
    assert moment(dt.datetime(2023, 9, 5, 10, 15)).utcoffset() == dt.timedelta(hours=8)
    with pytest.raises(ValueError, match="expected an ISO date and time"):
        moment("5 Sept 2023")
