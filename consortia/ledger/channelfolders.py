"""The channels a node keeps on disk: `<data_dir>/channels/<channel>/`, one folder each.

Creating a channel's folder happens under a temporary name that is renamed into place
once complete, so a crash during a join leaves either no channel or a whole one; the
leftovers of an interrupted join are swept away on the next start.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from fabric_protos.common import common_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.config.network import CHANNEL_NAME
from consortia.errors import ConfigError, ConsortiaError

log = logging.getLogger(__name__)

_STAGING = ".join-"


class JoinError(ConsortiaError):
    """A join or remove request cannot be carried out; the message says why."""

    def __init__(self, message: str, *, exists: bool = False, not_found: bool = False) -> None:
        super().__init__(message)
        self.exists = exists
        self.not_found = not_found


def genesis_bundle(block: common_pb2.Block) -> ChannelBundle:
    """The configuration of a channel's genesis block, checked; JoinError saying why not."""
    if block.header.number != 0:
        raise JoinError(f"the join block is block {block.header.number}; only a genesis block (0) can start a channel")
    try:
        bundle = ChannelBundle.from_config(config_from_block(block))
    except ConfigError as exc:
        raise JoinError(f"the join block is not a valid genesis block: {exc}") from exc
    if not CHANNEL_NAME.match(bundle.channel_id):
        raise JoinError(f"channel name {bundle.channel_id!r} is not valid")
    return bundle


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ChannelFolders:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / "channels"
        self.root.mkdir(parents=True, exist_ok=True)

    def existing(self) -> list[Path]:
        """The folders of the channels joined so far (sweeping interrupted joins)."""
        found = []
        for folder in sorted(self.root.iterdir()):
            if folder.name.startswith("."):
                shutil.rmtree(folder, ignore_errors=True)  # an interrupted join or removal
            elif folder.is_dir():
                found.append(folder)
        return found

    def create(self, channel_id: str, initialize: Callable[[Path], None]) -> Path:
        """Make the channel's folder: `initialize` fills a staging folder, then it is renamed."""
        final = self.root / channel_id
        if final.exists():
            raise JoinError(f"this node already holds channel {channel_id}", exists=True)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=self.root))
        try:
            initialize(staging)
            fsync_dir(staging)
            os.replace(staging, final)
            fsync_dir(self.root)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final

    def remove(self, channel_id: str) -> None:
        trash = self.root / f".removed-{channel_id}"
        os.replace(self.root / channel_id, trash)
        fsync_dir(self.root)
        shutil.rmtree(trash, ignore_errors=True)


class ServedChannel(Protocol):
    """What a node runs for one channel (an orderer's chain, a peer's channel)."""

    @property
    def channel_id(self) -> str: ...

    @property
    def height(self) -> int: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


C = TypeVar("C", bound=ServedChannel)


class ChannelSet(Generic[C]):
    """The channels a node serves, one folder each: reloaded at start, joined, listed and
    removed. A node says how to open a channel's folder and what a join must check."""

    # How the node speaks of not serving, or already serving, a channel.
    not_served = "this node does not serve channel {!r}"
    already_served = "this node already serves channel {}"

    def __init__(self, data_dir: Path, open_channel: Callable[[Path], C]) -> None:
        self.folders = ChannelFolders(data_dir)
        self._open = open_channel
        self._served: dict[str, C] = {}

    def get(self, channel_id: str) -> C | None:
        return self._served.get(channel_id)

    async def load_existing(self) -> None:
        for folder in self.folders.existing():
            channel = self._open(folder)
            self._served[channel.channel_id] = channel
            await channel.start()

    async def add(self, channel_id: str, write_genesis: Callable[[Path], None]) -> tuple[str, int]:
        """Create the channel's folder with its genesis block and start serving it."""
        if channel_id in self._served:
            raise JoinError(self.already_served.format(channel_id), exists=True)
        channel = self._open(self.folders.create(channel_id, write_genesis))
        self._served[channel_id] = channel
        await channel.start()
        log.info("joined channel %s", channel_id)
        return channel_id, channel.height

    def channels(self) -> list[tuple[str, int]]:
        return [(name, channel.height) for name, channel in sorted(self._served.items())]

    async def remove(self, channel_id: str) -> int:
        channel = self._served.pop(channel_id, None)
        if channel is None:
            raise JoinError(self.not_served.format(channel_id), not_found=True)
        height = channel.height
        await channel.stop()
        self.folders.remove(channel_id)
        log.info("removed channel %s", channel_id)
        return height

    async def stop(self) -> None:
        for channel in self._served.values():
            await channel.stop()
