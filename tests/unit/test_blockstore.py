"""The block store keeps every appended block across reopening, cuts only torn tails,
and refuses to run on a file damaged anywhere else, leaving it as it is."""

from __future__ import annotations

import struct
import zlib
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


def last_offset(tmp_path: Path) -> int:
    store = BlockStore(tmp_path)
    offset = store._offsets[-1]  # noqa: SLF001 - the test needs a record boundary
    store.close()
    return offset


def test_a_last_record_a_power_loss_left_as_zeros_is_dropped(tmp_path: Path) -> None:
    filled(tmp_path, 3).close()
    path = tmp_path / FILE_NAME
    kept = path.read_bytes()
    big = blocks.new_block(3, b"", [bytes(range(256)) * 40])  # spans three filesystem blocks
    data = big.SerializeToString()
    start = len(kept) + 12
    # The filesystem block that ends inside the record was never written back.
    unwritten = (start // 4096 + 1) * 4096
    torn = bytearray(data)
    torn[unwritten - start : unwritten - start + 4096] = bytes(4096)
    path.write_bytes(kept + struct.pack(">4sII", b"CBLK", len(data), zlib.crc32(data)) + bytes(torn))
    store = BlockStore(tmp_path)
    assert store.height == 3
    assert path.read_bytes() == kept


def test_a_whole_last_record_that_fails_its_checksum_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    filled(tmp_path, 3).close()
    path = tmp_path / FILE_NAME
    offset = last_offset(tmp_path)
    data = bytearray(path.read_bytes())
    data[-5] ^= 0x01  # one bit of a block that was written whole, and perhaps delivered
    path.write_bytes(bytes(data))
    with pytest.raises(BlockStoreError, match=rf"block 2, at offset {offset}\) is damaged: it fails its checksum.*"
                                              rf"truncate -s {offset} "):
        BlockStore(tmp_path)
    assert path.read_bytes() == bytes(data)


def test_a_last_record_whose_length_field_grew_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    filled(tmp_path, 3).close()
    path = tmp_path / FILE_NAME
    offset = last_offset(tmp_path)
    data = bytearray(path.read_bytes())
    magic, length, checksum = struct.unpack_from(">4sII", data, offset)
    struct.pack_into(">4sII", data, offset, magic, length + 100, checksum)
    path.write_bytes(bytes(data))
    with pytest.raises(BlockStoreError, match=r"block 2, at offset \d+\) is damaged: its length runs past the end"):
        BlockStore(tmp_path)
    assert path.read_bytes() == bytes(data)


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
