"""Checkpointers: Fabric's positions, persisted atomically, corrupt files refused clearly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from consortia.client import (
    ChaincodeEvent,
    CheckpointError,
    FileCheckpointer,
    InMemoryCheckpointer,
)

pytestmark = pytest.mark.unit

EVENT = ChaincodeEvent(block_number=4, transaction_id="tx-b", chaincode_name="cc", event_name="E", payload=b"")


def test_a_new_checkpointer_holds_no_position() -> None:
    checkpointer = InMemoryCheckpointer()
    assert (checkpointer.block_number, checkpointer.transaction_id) == (None, None)


def test_a_processed_block_moves_to_the_next_block_with_no_transaction() -> None:
    checkpointer = InMemoryCheckpointer()
    checkpointer.checkpoint_transaction(3, "tx-a")
    checkpointer.checkpoint_block(3)
    assert (checkpointer.block_number, checkpointer.transaction_id) == (4, None)


def test_a_processed_event_stays_in_its_block_after_its_transaction() -> None:
    checkpointer = InMemoryCheckpointer()
    checkpointer.checkpoint_chaincode_event(EVENT)
    assert (checkpointer.block_number, checkpointer.transaction_id) == (4, "tx-b")


def test_negative_blocks_are_refused() -> None:
    with pytest.raises(CheckpointError, match="cannot be negative"):
        InMemoryCheckpointer().checkpoint_transaction(-1, "tx")


def test_file_checkpointer_persists_every_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.json"
    first = FileCheckpointer(path)
    assert path.exists()  # written at once, so an unwritable place fails early
    first.checkpoint_chaincode_event(EVENT)
    assert json.loads(path.read_text()) == {"blockNumber": 4, "transactionId": "tx-b"}
    again = FileCheckpointer(path)
    assert (again.block_number, again.transaction_id) == (4, "tx-b")
    again.checkpoint_block(4)
    resumed = FileCheckpointer(path)
    assert (resumed.block_number, resumed.transaction_id) == (5, None)


def test_file_checkpointer_leaves_no_temporary_files(tmp_path: Path) -> None:
    checkpointer = FileCheckpointer(tmp_path / "cp.json")
    for number in range(5):
        checkpointer.checkpoint_block(number)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.json"]


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "cp.json"
    checkpointer = FileCheckpointer(path)
    checkpointer.checkpoint_block(1)

    def no_space(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.raises(CheckpointError, match=f"cannot write checkpoint file {path}: No space left"):
        checkpointer.checkpoint_block(2)
    monkeypatch.undo()
    # Block 1 was processed, so block 2 is next, in the file and in memory alike.
    assert FileCheckpointer(path).block_number == 2
    assert checkpointer.block_number == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cp.json"]


def test_reads_the_block_number_as_nodes_sdk_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text('{"blockNumber": "12", "transactionId": "tx"}')
    checkpointer = FileCheckpointer(path)
    assert (checkpointer.block_number, checkpointer.transaction_id) == (12, "tx")


def test_an_empty_file_is_a_checkpoint_not_yet_taken(tmp_path: Path) -> None:
    path = tmp_path / "cp.json"
    path.write_text("")
    assert FileCheckpointer(path).block_number is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "holds list; expected a JSON object"),
        ('{"blockNumber": -3}', "blockNumber must be a block number"),
        ('{"blockNumber": "x"}', "blockNumber must be a block number"),
        ('{"blockNumber": true}', "blockNumber must be a block number"),
        ('{"blockNumber": 1, "transactionId": 5}', "transactionId must be a string"),
    ],
)
def test_a_corrupt_file_is_a_clear_error(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(CheckpointError, match=problem) as caught:
        FileCheckpointer(path)
    assert str(path) in str(caught.value)
    assert path.read_text() == content  # never overwritten
