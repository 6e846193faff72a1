"""Checkpoints: where an event listener got to, so that it can resume there.

A checkpoint is a block number and a transaction id, with Fabric's meaning: the block
in which the next event is expected, and the last transaction of that block already
processed (none when the block has not been started). After processing a whole block
n, checkpoint block n (the checkpoint becomes block n + 1, no transaction); after a
chaincode event, checkpoint the event (its block and transaction). Resuming then reads
chaincode events from the checkpoint's block after its transaction, and blocks from the
checkpoint's block, so nothing is missed and nothing processed is seen again.

`FileCheckpointer` keeps the checkpoint in a JSON file with the fields of Fabric's
Gateway SDKs (`{"blockNumber": 12, "transactionId": "..."}`), written atomically.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from consortia.errors import ConsortiaError

if TYPE_CHECKING:
    from consortia.client.chaincode_events import ChaincodeEvent


class CheckpointError(ConsortiaError):
    """A checkpoint file cannot be read, is not a checkpoint, or cannot be written."""


class Checkpoint(Protocol):
    """A position to resume events from."""

    @property
    def block_number(self) -> int | None:
        """The block in which the next event is expected; None when nothing was processed."""
        ...

    @property
    def transaction_id(self) -> str | None:
        """The last transaction processed within that block; None when the block is new."""
        ...


class Checkpointer(Checkpoint, Protocol):
    """A checkpoint an event listener moves forward as it processes events."""

    def checkpoint_block(self, block_number: int) -> None:
        """Block `block_number` is fully processed."""
        ...

    def checkpoint_transaction(self, block_number: int, transaction_id: str) -> None:
        """Transaction `transaction_id` of block `block_number` is processed."""
        ...

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        """The chaincode event `event` is processed."""
        ...


class InMemoryCheckpointer:
    """A checkpoint kept in memory: resumes a stream within one process."""

    def __init__(self) -> None:
        self._block_number: int | None = None
        self._transaction_id: str | None = None

    @property
    def block_number(self) -> int | None:
        return self._block_number

    @property
    def transaction_id(self) -> str | None:
        return self._transaction_id

    def checkpoint_block(self, block_number: int) -> None:
        self.checkpoint_transaction(block_number + 1, None)

    def checkpoint_transaction(self, block_number: int, transaction_id: str | None) -> None:
        if block_number < 0:
            raise CheckpointError(f"a block number cannot be negative, got {block_number}")
        self._block_number = block_number
        self._transaction_id = transaction_id or None

    def checkpoint_chaincode_event(self, event: ChaincodeEvent) -> None:
        self.checkpoint_transaction(event.block_number, event.transaction_id)


class FileCheckpointer(InMemoryCheckpointer):
    """A checkpoint kept in a JSON file, so that a listener resumes after a restart.

    The file is read when the checkpointer is made (created if missing) and replaced
    atomically at every checkpoint: a crash leaves the old checkpoint or the new one.
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        if self.path.exists():
            self._load()
        else:
            self._save(None, None)

    def checkpoint_transaction(self, block_number: int, transaction_id: str | None) -> None:
        if block_number < 0:
            raise CheckpointError(f"a block number cannot be negative, got {block_number}")
        self._save(block_number, transaction_id)  # first, so memory and file never disagree
        super().checkpoint_transaction(block_number, transaction_id)

    def _load(self) -> None:
        try:
            text = self.path.read_text()
        except (OSError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"cannot read checkpoint file {self.path}: {exc}") from exc
        if not text.strip():
            return  # an empty file is a checkpoint not yet taken
        try:
            state = json.loads(text)
        except ValueError as exc:
            raise CheckpointError(
                f"checkpoint file {self.path} is not valid JSON ({exc}); expected "
                '{"blockNumber": N, "transactionId": "..."}; fix or delete it to start over'
            ) from exc
        if not isinstance(state, dict):
            raise CheckpointError(f"checkpoint file {self.path} holds {type(state).__name__}; expected a JSON object")
        self._block_number = _block_number(state.get("blockNumber"), self.path)
        transaction_id = state.get("transactionId")
        if transaction_id is not None and not isinstance(transaction_id, str):
            raise CheckpointError(f"checkpoint file {self.path}: transactionId must be a string, found {transaction_id!r}")
        self._transaction_id = transaction_id or None

    def _save(self, block_number: int | None, transaction_id: str | None) -> None:
        state = {"blockNumber": block_number, "transactionId": transaction_id or ""}
        folder = self.path.parent
        try:
            fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "w") as out:
                    json.dump(state, out)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, self.path)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise CheckpointError(f"cannot write checkpoint file {self.path}: {exc.strerror or exc}") from exc


def _block_number(value: Any, path: Path) -> int | None:
    # Node's SDK writes the number as a string (it is a bigint there); accept both.
    if value is None:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckpointError(f"checkpoint file {path}: blockNumber must be a block number (0 or more), found {value!r}")
    return value
