from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedAdminRequest(_message.Message):
    __slots__ = ("request", "signature")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request: bytes
    signature: bytes
    def __init__(self, request: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class AdminRequest(_message.Message):
    __slots__ = ("creator", "nonce", "timestamp", "join", "list", "remove")
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    JOIN_FIELD_NUMBER: _ClassVar[int]
    LIST_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    creator: bytes
    nonce: bytes
    timestamp: _timestamp_pb2.Timestamp
    join: JoinChannel
    list: ListChannels
    remove: RemoveChannel
    def __init__(self, creator: _Optional[bytes] = ..., nonce: _Optional[bytes] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., join: _Optional[_Union[JoinChannel, _Mapping]] = ..., list: _Optional[_Union[ListChannels, _Mapping]] = ..., remove: _Optional[_Union[RemoveChannel, _Mapping]] = ...) -> None: ...

class JoinChannel(_message.Message):
    __slots__ = ("channel_block",)
    CHANNEL_BLOCK_FIELD_NUMBER: _ClassVar[int]
    channel_block: bytes
    def __init__(self, channel_block: _Optional[bytes] = ...) -> None: ...

class ListChannels(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RemoveChannel(_message.Message):
    __slots__ = ("channel_id",)
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    def __init__(self, channel_id: _Optional[str] = ...) -> None: ...

class ChannelInfo(_message.Message):
    __slots__ = ("channel_id", "height")
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    height: int
    def __init__(self, channel_id: _Optional[str] = ..., height: _Optional[int] = ...) -> None: ...

class ChannelList(_message.Message):
    __slots__ = ("channels",)
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[ChannelInfo]
    def __init__(self, channels: _Optional[_Iterable[_Union[ChannelInfo, _Mapping]]] = ...) -> None: ...
