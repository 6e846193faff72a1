"""The block store keeps every appended block across reopening, cuts only torn tails,
and refuses to run on a file damaged in the middle."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from consortia.ledger.blockstore import FILE_NAME, BlockStore, BlockStoreError
from consortia.protoutil import block as blocks

pytestmark = pytest.mark.unit


def chain(count: int) -> list:  # type: ignore[type-arg]
    made = []
    previous = b""
    for number in range(count):
        block = blocks.new_block(number, previous, [f"tx-{number}-{i}".encode() * 10 for i in range(3)])
        previous = blocks.header_hash(block.header)
        made.append(block)
    return made


def filled(tmp_path: Path, count: int) -> BlockStore:
    store = BlockStore(tmp_path)
    for block in chain(count):
        store.append(block)
    return store


def test_append_read_and_reopen(tmp_path: Path) -> None:
    made = chain(5)
    store = BlockStore(tmp_path)
    assert store.height == 0 and store.last() is None
    for block in made:
        store.append(block)
    assert store.height == 5
    assert store.get(3) == made[3]
    assert store.read_bytes(4) == made[4].SerializeToString()
    store.close()
    again = BlockStore(tmp_path)
    assert again.height == 5
    assert [again.get(i) for i in range(5)] == made
    assert again.last() == made[4]


def test_refuses_out_of_order_blocks(tmp_path: Path) -> None:
    store = filled(tmp_path, 2)
    with pytest.raises(BlockStoreError, match="expected block 2 next, was given block 5"):
        store.append(blocks.new_block(5, b"", []))
    with pytest.raises(BlockStoreError, match="block 7 does not exist; height is 2"):
        store.get(7)


@pytest.mark.parametrize("cut", [1, 5, 11, 12, 20])
def test_torn_last_record_is_dropped(tmp_path: Path, cut: int) -> None:
    filled(tmp_path, 3).close()
    path = tmp_path / FILE_NAME
    data = path.read_bytes()
    extra = chain(4)[3].SerializeToString()
    record = struct.pack(">4sII", b"CBLK", len(extra), 0) + extra
    path.write_bytes(data + record[:cut])  # a crash in the middle of appending block 3
    store = BlockStore(tmp_path)
    assert store.height == 3
    assert path.read_bytes() == data  # the torn bytes are gone
    store.append(chain(4)[3])
    assert store.height == 4


def test_torn_tail_of_zeros_is_dropped(tmp_path: Path) -> None:
    filled(tmp_path, 2).close()
    path = tmp_path / FILE_NAME
    data = path.read_bytes()
    path.write_bytes(data + b"\x00" * 4096)
    assert BlockStore(tmp_path).height == 2
    assert path.read_bytes() == data


def test_last_record_with_bad_checksum_is_dropped(tmp_path: Path) -> None:
    filled(tmp_path, 3).close()
    path = tmp_path / FILE_NAME
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # the last block's bytes were not all written
    path.write_bytes(bytes(data))
    store = BlockStore(tmp_path)
    assert store.height == 2


def test_damage_in_the_middle_is_refused(tmp_path: Path) -> None:
    filled(tmp_path, 3).close()
    path = tmp_path / FILE_NAME
    data = bytearray(path.read_bytes())
    store = BlockStore(tmp_path)
    second = store._offsets[1]  # noqa: SLF001 - the test needs a record boundary
    store.close()
    data[second : second + 4] = b"XXXX"
    path.write_bytes(bytes(data))
    with pytest.raises(BlockStoreError, match="no block record at offset .* needs an operator"):
        BlockStore(tmp_path)


def test_corrupt_middle_block_fails_its_checksum_on_read(tmp_path: Path) -> None:
    store = filled(tmp_path, 3)
    offset = store._offsets[1]  # noqa: SLF001
    store.close()
    path = tmp_path / FILE_NAME
    data = bytearray(path.read_bytes())
    data[offset + 20] ^= 0xFF
    path.write_bytes(bytes(data))
    reopened = BlockStore(tmp_path)
    assert reopened.height == 3
    with pytest.raises(BlockStoreError, match="fails its checksum"):
        reopened.get(1)
