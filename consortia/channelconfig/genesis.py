"""Config blocks: the genesis block of a channel and reading a configuration back.

A config block holds one envelope of type CONFIG whose payload data is the
`consortia.v1.ChannelConfig`. Like a genesis block made by Fabric's configtxgen, the
genesis envelope has no creator and no signature: whoever joins a node to a channel
vouches for it by handing the block over (through the signed admin request).
"""

from __future__ import annotations

from fabric_protos.common import common_pb2
from google.protobuf.message import DecodeError

from consortia.errors import ConfigError, MessageError
from consortia.protos.v1 import channel_config_pb2 as cc
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import make_channel_header, unpack_envelope


def genesis_block(config: cc.ChannelConfig) -> common_pb2.Block:
    """Block 0 of the channel described by `config`."""
    header = common_pb2.Header(
        channel_header=make_channel_header(common_pb2.CONFIG, config.channel_id).SerializeToString(),
        signature_header=common_pb2.SignatureHeader().SerializeToString(),
    )
    payload = common_pb2.Payload(header=header, data=config.SerializeToString())
    envelope = common_pb2.Envelope(payload=payload.SerializeToString())
    return blocks.new_block(0, b"", [envelope.SerializeToString()])


def config_from_block(block: common_pb2.Block) -> cc.ChannelConfig:
    """The ChannelConfig a config block carries; ConfigError saying why it cannot be read."""
    if len(block.data.data) != 1:
        raise ConfigError([f"block {block.header.number} is not a config block: it holds {len(block.data.data)} envelopes"])
    if block.header.data_hash != blocks.data_hash(block.data):
        raise ConfigError([f"block {block.header.number} data hash does not match its data"])
    try:
        envelope = unpack_envelope(block.data.data[0])
    except MessageError as exc:
        raise ConfigError([f"block {block.header.number}: {exc}"]) from exc
    if envelope.header_type != common_pb2.CONFIG:
        raise ConfigError([f"block {block.header.number} is not a config block: its envelope has type {envelope.header_type}"])
    try:
        config = cc.ChannelConfig.FromString(envelope.payload.data)
    except DecodeError as exc:
        raise ConfigError([f"block {block.header.number}: payload is not a ChannelConfig ({exc})"]) from exc
    if config.channel_id != envelope.channel_id:
        raise ConfigError(
            [f"config block names channel {envelope.channel_id!r} in its header but {config.channel_id!r} in its config"]
        )
    return config
