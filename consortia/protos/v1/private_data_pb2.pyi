from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignedPrivateDataRequest(_message.Message):
    __slots__ = ("request", "signature")
    REQUEST_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    request: bytes
    signature: bytes
    def __init__(self, request: _Optional[bytes] = ..., signature: _Optional[bytes] = ...) -> None: ...

class PrivateDataRequest(_message.Message):
    __slots__ = ("creator", "channel_id", "timestamp", "push", "pull")
    CREATOR_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    PUSH_FIELD_NUMBER: _ClassVar[int]
    PULL_FIELD_NUMBER: _ClassVar[int]
    creator: bytes
    channel_id: str
    timestamp: _timestamp_pb2.Timestamp
    push: PushPrivateData
    pull: PullPrivateData
    def __init__(self, creator: _Optional[bytes] = ..., channel_id: _Optional[str] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., push: _Optional[_Union[PushPrivateData, _Mapping]] = ..., pull: _Optional[_Union[PullPrivateData, _Mapping]] = ...) -> None: ...

class PushPrivateData(_message.Message):
    __slots__ = ("tx_id", "endorsed_at", "pvt_rwset")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    ENDORSED_AT_FIELD_NUMBER: _ClassVar[int]
    PVT_RWSET_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    endorsed_at: int
    pvt_rwset: bytes
    def __init__(self, tx_id: _Optional[str] = ..., endorsed_at: _Optional[int] = ..., pvt_rwset: _Optional[bytes] = ...) -> None: ...

class PushResponse(_message.Message):
    __slots__ = ("kept",)
    KEPT_FIELD_NUMBER: _ClassVar[int]
    kept: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, kept: _Optional[_Iterable[str]] = ...) -> None: ...

class PrivateDataDigest(_message.Message):
    __slots__ = ("tx_id", "namespace", "collection", "block", "tx_num", "rwset_hash")
    TX_ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    BLOCK_FIELD_NUMBER: _ClassVar[int]
    TX_NUM_FIELD_NUMBER: _ClassVar[int]
    RWSET_HASH_FIELD_NUMBER: _ClassVar[int]
    tx_id: str
    namespace: str
    collection: str
    block: int
    tx_num: int
    rwset_hash: bytes
    def __init__(self, tx_id: _Optional[str] = ..., namespace: _Optional[str] = ..., collection: _Optional[str] = ..., block: _Optional[int] = ..., tx_num: _Optional[int] = ..., rwset_hash: _Optional[bytes] = ...) -> None: ...

class PullPrivateData(_message.Message):
    __slots__ = ("digests",)
    DIGESTS_FIELD_NUMBER: _ClassVar[int]
    digests: _containers.RepeatedCompositeFieldContainer[PrivateDataDigest]
    def __init__(self, digests: _Optional[_Iterable[_Union[PrivateDataDigest, _Mapping]]] = ...) -> None: ...

class PrivateDataElement(_message.Message):
    __slots__ = ("digest", "rwset")
    DIGEST_FIELD_NUMBER: _ClassVar[int]
    RWSET_FIELD_NUMBER: _ClassVar[int]
    digest: PrivateDataDigest
    rwset: bytes
    def __init__(self, digest: _Optional[_Union[PrivateDataDigest, _Mapping]] = ..., rwset: _Optional[bytes] = ...) -> None: ...

class PullResponse(_message.Message):
    __slots__ = ("elements",)
    ELEMENTS_FIELD_NUMBER: _ClassVar[int]
    elements: _containers.RepeatedCompositeFieldContainer[PrivateDataElement]
    def __init__(self, elements: _Optional[_Iterable[_Union[PrivateDataElement, _Mapping]]] = ...) -> None: ...
