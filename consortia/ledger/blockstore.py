"""An append-only file of blocks: the source of truth of a channel on a node.

Each record is

    magic (4 bytes "CBLK") | length (4 bytes, big-endian) | crc32 (4 bytes) | block bytes

and is appended and fsynced before `append` returns: a block is on disk before anyone
is told about it. Opening the store walks the record headers to index block number ->
offset. Only the last record can be torn by a crash (records are appended one at a
time, each after the previous one is durable), so opening cuts off a torn tail; every
read checks the checksum of what it reads.

A tail is cut only when it is what a crash leaves of an append: a record cut short
(a process killed while writing), or a whole record of which some filesystem block
reads as zeros (a power loss before the data was written back). A whole last record
that fails its checksum otherwise, or one cut short whose bytes match its checksum
(its length field damaged), was written completely and may have been delivered: the
store refuses to open and leaves the file as it is, for an operator, as it does for
damage anywhere else. (Fabric's block files, which carry no checksum, likewise cut
only an incomplete last block.) Every other store a node keeps (state, indexes)
catches up from this file.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from pathlib import Path
from typing import BinaryIO

from fabric_protos.common import common_pb2

from consortia.errors import ConsortiaError

log = logging.getLogger(__name__)

MAGIC = b"CBLK"
_HEADER = struct.Struct(">4sII")
FILE_NAME = "blocks.dat"


class BlockStoreError(ConsortiaError):
    """The block file is unusable (corrupt in the middle, unreadable) or misused."""


class BlockStore:
    """Blocks of one channel, numbered from 0 without gaps."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / FILE_NAME
        self._offsets: list[int] = []
        self._lock = threading.Lock()
        self._recover()
        self._file = open(self.path, "r+b" if self.path.exists() else "w+b")  # noqa: SIM115 - held open
        self._file.seek(0, os.SEEK_END)

    @property
    def height(self) -> int:
        """Number of blocks stored: the next block number."""
        return len(self._offsets)

    def _recover(self) -> None:
        """Index the records; cut a torn tail; refuse a file damaged anywhere else."""
        if not self.path.exists():
            return
        size = self.path.stat().st_size
        offset = 0
        with open(self.path, "rb") as file:
            while offset < size:
                file.seek(offset)
                header = file.read(_HEADER.size)
                if len(header) < _HEADER.size:
                    break  # the header itself was torn
                magic, length, checksum = _HEADER.unpack(header)
                end = offset + _HEADER.size + length
                if magic != MAGIC or length == 0:
                    if _torn_tail(file, offset, size):
                        break  # an append the crash cut inside the record header
                    raise BlockStoreError(
                        f"{self.path}: no block record at offset {offset} after block {len(self._offsets) - 1}; "
                        "the file is damaged and needs an operator"
                    )
                if end > size:
                    if _matches(file, offset + _HEADER.size, size, checksum):
                        raise self._damaged(len(self._offsets), offset, "its length runs past the end of the file, "
                                            "yet the bytes after it match its checksum")
                    break  # the record's data was torn
                self._offsets.append(offset)
                offset = end
            if self._offsets and offset >= size:
                last = self._offsets[-1]
                try:
                    self._read_at(file, last)
                except BlockStoreError:
                    if not _unwritten(file, last + _HEADER.size, size):
                        raise self._damaged(len(self._offsets) - 1, last, "it fails its checksum, and no part of "
                                            "it reads as the zeros a power loss leaves") from None
                    log.warning("block file %s: the last record fails its checksum where it reads as zeros; "
                                "it was torn by a power loss, dropping it", self.path)
                    self._offsets.pop()
                    offset = last
        if offset < size:
            log.warning(
                "block file %s: cutting a torn tail of %d bytes after block %d",
                self.path, size - offset, len(self._offsets) - 1,
            )
            with open(self.path, "r+b") as file:
                file.truncate(offset)
                file.flush()
                os.fsync(file.fileno())

    def _damaged(self, number: int, offset: int, why: str) -> BlockStoreError:
        """The error for a last record that was written whole and is damaged now."""
        return BlockStoreError(
            f"{self.path}: the last block record (block {number}, at offset {offset}) is damaged: {why}. "
            "It was written completely, so it may have been delivered; the file is left as it is and needs an "
            f"operator: restore it from a backup or another node, or, only if that block was never delivered, "
            f"cut it with `truncate -s {offset} {self.path}`"
        )

    def _read_at(self, file: BinaryIO, offset: int) -> bytes:
        file.seek(offset)
        header = file.read(_HEADER.size)
        if len(header) < _HEADER.size:
            raise BlockStoreError(f"{self.path}: block record at offset {offset} is cut short")
        magic, length, checksum = _HEADER.unpack(header)
        data = file.read(length)
        if magic != MAGIC or len(data) != length or zlib.crc32(data) != checksum:
            raise BlockStoreError(f"{self.path}: block record at offset {offset} fails its checksum")
        return data

    def append(self, block: common_pb2.Block) -> None:
        """Append the next block and make it durable (fsync) before returning."""
        if block.header.number != self.height:
            raise BlockStoreError(f"expected block {self.height} next, was given block {block.header.number}")
        data = block.SerializeToString()
        record = _HEADER.pack(MAGIC, len(data), zlib.crc32(data)) + data
        with self._lock:
            offset = self._file.seek(0, os.SEEK_END)
            self._file.write(record)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._offsets.append(offset)

    def read_bytes(self, number: int) -> bytes:
        """The serialized block `number`, exactly as stored."""
        if not 0 <= number < self.height:
            raise BlockStoreError(f"block {number} does not exist; height is {self.height}")
        with self._lock:
            return self._read_at(self._file, self._offsets[number])

    def get(self, number: int) -> common_pb2.Block:
        return common_pb2.Block.FromString(self.read_bytes(number))

    def last(self) -> common_pb2.Block | None:
        return self.get(self.height - 1) if self.height else None

    def close(self) -> None:
        with self._lock:
            self._file.close()


# The unit in which a power loss can leave appended data unwritten (reading as zeros).
_FS_BLOCK = 4096
# A zero run shorter than this, at the end of a record, can be the record's own bytes.
_MIN_ZEROS = 16


def _unwritten(file: BinaryIO, start: int, end: int) -> bool:
    """Whether some filesystem block's share of the bytes from `start` to `end` reads as
    zeros: what a power loss leaves of an append that was not yet written back."""
    position = start
    while position < end:
        stop = min(end, (position // _FS_BLOCK + 1) * _FS_BLOCK)
        file.seek(position)
        share = file.read(stop - position)
        if len(share) >= min(_MIN_ZEROS, end - start) and not share.strip(b"\x00"):
            return True
        position = stop
    return False


def _matches(file: BinaryIO, start: int, size: int, checksum: int) -> bool:
    """Whether the bytes from `start` to the end of the file match `checksum`: for a
    record cut short, that it is whole and its length field is wrong."""
    file.seek(start)
    rest = file.read(size - start)
    return bool(rest) and zlib.crc32(rest) == checksum


def _torn_tail(file: BinaryIO, offset: int, size: int) -> bool:
    """Whether the bytes from `offset` to the end can be what a crash left of an append:
    a prefix of the magic followed by nothing but zeros."""
    file.seek(offset)
    head = file.read(min(size - offset, 1 << 20))
    stripped = head.rstrip(b"\x00")
    if not MAGIC.startswith(stripped):
        return False
    while chunk := file.read(1 << 20):
        if chunk.strip(b"\x00"):
            return False
    return True
