from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ChannelConfig(_message.Message):
    __slots__ = ("channel_id", "sequence", "policies", "application", "orderer")
    class PoliciesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Policy
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    ORDERER_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    sequence: int
    policies: _containers.MessageMap[str, Policy]
    application: ApplicationConfig
    orderer: OrdererConfig
    def __init__(self, channel_id: _Optional[str] = ..., sequence: _Optional[int] = ..., policies: _Optional[_Mapping[str, Policy]] = ..., application: _Optional[_Union[ApplicationConfig, _Mapping]] = ..., orderer: _Optional[_Union[OrdererConfig, _Mapping]] = ...) -> None: ...

class ApplicationConfig(_message.Message):
    __slots__ = ("organizations", "policies")
    class PoliciesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Policy
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...
    ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    organizations: _containers.RepeatedCompositeFieldContainer[Organization]
    policies: _containers.MessageMap[str, Policy]
    def __init__(self, organizations: _Optional[_Iterable[_Union[Organization, _Mapping]]] = ..., policies: _Optional[_Mapping[str, Policy]] = ...) -> None: ...

class OrdererConfig(_message.Message):
    __slots__ = ("organizations", "policies", "consensus_type", "consenters", "batch_size", "batch_timeout_ms")
    class PoliciesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Policy
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...
    ORGANIZATIONS_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    CONSENSUS_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONSENTERS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    BATCH_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    organizations: _containers.RepeatedCompositeFieldContainer[Organization]
    policies: _containers.MessageMap[str, Policy]
    consensus_type: str
    consenters: _containers.RepeatedCompositeFieldContainer[Consenter]
    batch_size: BatchSize
    batch_timeout_ms: int
    def __init__(self, organizations: _Optional[_Iterable[_Union[Organization, _Mapping]]] = ..., policies: _Optional[_Mapping[str, Policy]] = ..., consensus_type: _Optional[str] = ..., consenters: _Optional[_Iterable[_Union[Consenter, _Mapping]]] = ..., batch_size: _Optional[_Union[BatchSize, _Mapping]] = ..., batch_timeout_ms: _Optional[int] = ...) -> None: ...

class BatchSize(_message.Message):
    __slots__ = ("max_message_count", "absolute_max_bytes", "preferred_max_bytes")
    MAX_MESSAGE_COUNT_FIELD_NUMBER: _ClassVar[int]
    ABSOLUTE_MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    PREFERRED_MAX_BYTES_FIELD_NUMBER: _ClassVar[int]
    max_message_count: int
    absolute_max_bytes: int
    preferred_max_bytes: int
    def __init__(self, max_message_count: _Optional[int] = ..., absolute_max_bytes: _Optional[int] = ..., preferred_max_bytes: _Optional[int] = ...) -> None: ...

class Consenter(_message.Message):
    __slots__ = ("name", "host", "port", "msp_id", "identity", "server_tls_cert", "client_tls_cert")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    MSP_ID_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    SERVER_TLS_CERT_FIELD_NUMBER: _ClassVar[int]
    CLIENT_TLS_CERT_FIELD_NUMBER: _ClassVar[int]
    name: str
    host: str
    port: int
    msp_id: str
    identity: bytes
    server_tls_cert: bytes
    client_tls_cert: bytes
    def __init__(self, name: _Optional[str] = ..., host: _Optional[str] = ..., port: _Optional[int] = ..., msp_id: _Optional[str] = ..., identity: _Optional[bytes] = ..., server_tls_cert: _Optional[bytes] = ..., client_tls_cert: _Optional[bytes] = ...) -> None: ...

class Organization(_message.Message):
    __slots__ = ("name", "msp", "policies", "endpoints")
    class PoliciesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: Policy
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[Policy, _Mapping]] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    MSP_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    name: str
    msp: MSPDefinition
    policies: _containers.MessageMap[str, Policy]
    endpoints: _containers.RepeatedCompositeFieldContainer[Endpoint]
    def __init__(self, name: _Optional[str] = ..., msp: _Optional[_Union[MSPDefinition, _Mapping]] = ..., policies: _Optional[_Mapping[str, Policy]] = ..., endpoints: _Optional[_Iterable[_Union[Endpoint, _Mapping]]] = ...) -> None: ...

class MSPDefinition(_message.Message):
    __slots__ = ("msp_id", "root_certs", "intermediate_certs", "tls_root_certs", "tls_intermediate_certs", "node_ous")
    MSP_ID_FIELD_NUMBER: _ClassVar[int]
    ROOT_CERTS_FIELD_NUMBER: _ClassVar[int]
    INTERMEDIATE_CERTS_FIELD_NUMBER: _ClassVar[int]
    TLS_ROOT_CERTS_FIELD_NUMBER: _ClassVar[int]
    TLS_INTERMEDIATE_CERTS_FIELD_NUMBER: _ClassVar[int]
    NODE_OUS_FIELD_NUMBER: _ClassVar[int]
    msp_id: str
    root_certs: _containers.RepeatedScalarFieldContainer[bytes]
    intermediate_certs: _containers.RepeatedScalarFieldContainer[bytes]
    tls_root_certs: _containers.RepeatedScalarFieldContainer[bytes]
    tls_intermediate_certs: _containers.RepeatedScalarFieldContainer[bytes]
    node_ous: NodeOUs
    def __init__(self, msp_id: _Optional[str] = ..., root_certs: _Optional[_Iterable[bytes]] = ..., intermediate_certs: _Optional[_Iterable[bytes]] = ..., tls_root_certs: _Optional[_Iterable[bytes]] = ..., tls_intermediate_certs: _Optional[_Iterable[bytes]] = ..., node_ous: _Optional[_Union[NodeOUs, _Mapping]] = ...) -> None: ...

class NodeOUs(_message.Message):
    __slots__ = ("enable", "client_ou", "peer_ou", "admin_ou", "orderer_ou")
    ENABLE_FIELD_NUMBER: _ClassVar[int]
    CLIENT_OU_FIELD_NUMBER: _ClassVar[int]
    PEER_OU_FIELD_NUMBER: _ClassVar[int]
    ADMIN_OU_FIELD_NUMBER: _ClassVar[int]
    ORDERER_OU_FIELD_NUMBER: _ClassVar[int]
    enable: bool
    client_ou: str
    peer_ou: str
    admin_ou: str
    orderer_ou: str
    def __init__(self, enable: bool = ..., client_ou: _Optional[str] = ..., peer_ou: _Optional[str] = ..., admin_ou: _Optional[str] = ..., orderer_ou: _Optional[str] = ...) -> None: ...

class Policy(_message.Message):
    __slots__ = ("type", "value")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    type: int
    value: bytes
    def __init__(self, type: _Optional[int] = ..., value: _Optional[bytes] = ...) -> None: ...

class Endpoint(_message.Message):
    __slots__ = ("name", "host", "port")
    NAME_FIELD_NUMBER: _ClassVar[int]
    HOST_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    name: str
    host: str
    port: int
    def __init__(self, name: _Optional[str] = ..., host: _Optional[str] = ..., port: _Optional[int] = ...) -> None: ...
