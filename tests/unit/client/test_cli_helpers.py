"""The pure parts of `consortia invoke | query | events`: options and output lines."""

from __future__ import annotations

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.peer import transaction_pb2

from consortia.cli.client_cmd import (
    as_text,
    block_line,
    event_line,
    find_organization,
    parse_transient,
)
from consortia.client import ChaincodeEvent
from consortia.config.network import Network
from consortia.errors import ConsortiaError
from consortia.protoutil import block as blocks

pytestmark = pytest.mark.unit


def test_transient_options_become_the_transient_map() -> None:
    assert parse_transient(["price=100", "note=a=b", "empty="]) == {"price": b"100", "note": b"a=b", "empty": b""}


@pytest.mark.parametrize(
    ("items", "problem"),
    [(["novalue"], "--transient expects KEY=VALUE, got 'novalue'"),
     (["=v"], "--transient expects KEY=VALUE, got '=v'"),
     (["k=1", "k=2"], "--transient key 'k' is given twice")],
)
def test_malformed_transient_options_are_refused(items: list[str], problem: str) -> None:
    with pytest.raises(ConsortiaError) as caught:
        parse_transient(items)
    assert str(caught.value) == problem


def test_organizations_are_found_by_name_or_msp_id_in_any_case(carbon: Network) -> None:
    assert find_organization(carbon, "MEE", "f.yaml").msp_id == "MEEMSP"
    assert find_organization(carbon, "MEEMSP", "f.yaml").name == "MEE"
    assert find_organization(carbon, "meemsp", "f.yaml").name == "MEE"


def test_an_unknown_organization_lists_the_known_ones(carbon: Network) -> None:
    with pytest.raises(ConsortiaError, match=r"unknown organization 'Nope' in f.yaml; its organizations are MEE \(MEEMSP\), "):
        find_organization(carbon, "Nope", "f.yaml")
    with pytest.raises(ConsortiaError, match="is the ordering organization"):
        find_organization(carbon, carbon.orderer.msp_id, "f.yaml")


def test_results_print_as_text_or_hex() -> None:
    assert as_text("碳排放 ok".encode()) == "碳排放 ok"
    assert as_text(b"\xff\x00") == "ff00"


def test_an_event_line_shows_block_transaction_name_and_payload() -> None:
    event = ChaincodeEvent(block_number=3, transaction_id="tx1", chaincode_name="cc", event_name="Traded", payload=b"{}")
    assert event_line(event) == "block 3\ttx tx1\tTraded\t{}"


def test_a_block_line_summarises_the_validation_codes() -> None:
    block = blocks.new_block(5, b"", [b"a", b"b", b"c"])
    blocks.set_transactions_filter(block, [transaction_pb2.VALID, transaction_pb2.MVCC_READ_CONFLICT, transaction_pb2.VALID])
    assert block_line(block) == "block 5\t3 transactions\t1 MVCC_READ_CONFLICT, 2 VALID"
    single = blocks.new_block(0, b"", [b"config"])  # a block not validated by a peer has no codes
    assert block_line(single) == "block 0\t1 transaction\t1 NOT_VALIDATED"
    assert block_line(common_pb2.Block(header=common_pb2.BlockHeader(number=9))) == "block 9\t0 transactions"
