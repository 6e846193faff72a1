"""ChaincodeStub: what chaincode calls to read and write the ledger during a transaction.

Every call is a request to the peer, which answers from the transaction's simulation:
reads come from committed state as of the start of the proposal (Fabric does not let a
transaction read its own writes), writes are recorded in the read-write set the peer
endorses. Calls block the transaction (its greenlet) until the peer answers; a refusal
raises ChaincodeStubError with the peer's reason.

Composite keys follow Fabric: U+0000, object type, U+0000, each attribute and U+0000.

Private data (the `*_private_data*` calls) lives in a collection of the chaincode
definition: values are kept in the private state of the member peers and only their hashes
go into the read-write set and the block. So a peer outside the collection refuses reads of
values, while any peer of the channel can answer `get_private_data_hash`. The messages are
the public ones with the collection set, as in Fabric's shims; Fabric has no paginated
queries of private data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from fabric_protos.common import common_pb2
from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, chaincode_shim_pb2, proposal_pb2
from fabric_protos.peer import proposal_response_pb2

from chaincode.shim.interfaces import ChaincodeStubError

if TYPE_CHECKING:
    from chaincode.shim.handler import Handler

Message: TypeAlias = chaincode_shim_pb2.ChaincodeMessage
COMPOSITE_NS = "\x00"
MAX_UNICODE_RUNE = "\U0010ffff"
VALIDATION_PARAMETER = "VALIDATION_PARAMETER"


@dataclass(frozen=True)
class KV:
    """One result of a range or rich query."""

    key: str
    value: bytes
    namespace: str = ""


@dataclass(frozen=True)
class QueryMetadata:
    """What a paginated query returns beside its results."""

    fetched_records_count: int
    bookmark: str


def _check_key(key: str, what: str = "key") -> None:
    if not isinstance(key, str) or not key:
        raise ChaincodeStubError(f"{what} must be a non-empty string, found {key!r}")


class _QueryIterator:
    """Results of a query, fetched from the peer in batches; close it if you stop early.

    `ask` sends one request of the transaction to the peer and returns the answer's payload.
    """

    def __init__(self, ask: Callable[[int, Any], bytes], response: chaincode_shim_pb2.QueryResponse) -> None:
        self._ask = ask
        self._response = response
        self._index = 0
        self._closed = False

    def _decode(self, raw: bytes) -> Any:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        while True:
            if self._index < len(self._response.results):
                item = self._response.results[self._index].resultBytes
                self._index += 1
                yield self._decode(item)
            elif self._response.has_more and not self._closed:
                payload = self._ask(Message.QUERY_STATE_NEXT, chaincode_shim_pb2.QueryStateNext(id=self._response.id))
                self._response = chaincode_shim_pb2.QueryResponse.FromString(payload)
                self._index = 0
            else:
                self._closed = True
                return

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._ask(Message.QUERY_STATE_CLOSE, chaincode_shim_pb2.QueryStateClose(id=self._response.id))

    def __enter__(self) -> _QueryIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class StateQueryIterator(_QueryIterator):
    def _decode(self, raw: bytes) -> KV:
        kv = kv_query_result_pb2.KV.FromString(raw)
        return KV(kv.key, bytes(kv.value), kv.namespace)


class HistoryQueryIterator(_QueryIterator):
    def _decode(self, raw: bytes) -> kv_query_result_pb2.KeyModification:
        return kv_query_result_pb2.KeyModification.FromString(raw)


@dataclass(frozen=True)
class _ProposalFields:
    """What a chaincode may ask of the proposal that invoked it."""

    creator: bytes = b""
    timestamp: dt.datetime | None = None
    transient: dict[str, bytes] = field(default_factory=dict)

    @classmethod
    def decode(cls, signed: proposal_pb2.SignedProposal) -> _ProposalFields:
        if not signed.proposal_bytes:
            return cls()
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        return cls(creator=bytes(common_pb2.SignatureHeader.FromString(header.signature_header).creator),
                   timestamp=channel_header.timestamp.ToDatetime(tzinfo=dt.timezone.utc),
                   transient=dict(proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload).TransientMap))


class ChaincodeStub:
    def __init__(self, handler: Handler, message: Message) -> None:
        self._handler = handler
        self.channel_id: str = message.channel_id
        self.tx_id: str = message.txid
        self._input = chaincode_pb2.ChaincodeInput.FromString(message.payload)
        self.signed_proposal = message.proposal
        self.event: chaincode_event_pb2.ChaincodeEvent | None = None
        self._proposal: _ProposalFields | None = None  # decoded on first use: most transactions never ask

    def _fields(self) -> _ProposalFields:
        if self._proposal is None:
            self._proposal = _ProposalFields.decode(self.signed_proposal)
        return self._proposal

    # ----- the transaction ----------------------------------------------------------

    def get_args(self) -> list[bytes]:
        return list(self._input.args)

    def get_string_args(self) -> list[str]:
        return [a.decode(errors="replace") for a in self._input.args]

    def get_function_and_parameters(self) -> tuple[str, list[str]]:
        args = self.get_string_args()
        return (args[0], args[1:]) if args else ("", [])

    def is_init(self) -> bool:
        return bool(self._input.is_init)

    def get_creator(self) -> bytes:
        """The proposal creator's serialized identity (msp.SerializedIdentity)."""
        return self._fields().creator

    def get_transient(self) -> dict[str, bytes]:
        """Private input of the proposal: never written to the ledger."""
        return dict(self._fields().transient)

    def get_tx_timestamp(self) -> dt.datetime:
        """The client's proposal timestamp: the only clock a chaincode may use (determinism)."""
        timestamp = self._fields().timestamp
        if timestamp is None:
            raise ChaincodeStubError("this invocation carries no proposal")
        return timestamp

    def get_signed_proposal(self) -> proposal_pb2.SignedProposal:
        return self.signed_proposal

    def get_decorations(self) -> dict[str, bytes]:
        return dict(self._input.decorations)

    # ----- requests to the peer -----------------------------------------------------

    def _ask(self, kind: int, payload: Any) -> bytes:
        message = Message(type=kind, payload=payload.SerializeToString(), txid=self.tx_id, channel_id=self.channel_id)
        return bytes(self._handler.call(message).payload)

    def get_state(self, key: str, collection: str = "") -> bytes:
        """The committed value of `key`, or b'' when it does not exist (as Fabric's shims)."""
        _check_key(key)
        return self._ask(Message.GET_STATE, chaincode_shim_pb2.GetState(key=key, collection=collection))

    def get_state_multiple(self, keys: Sequence[str], collection: str = "") -> list[bytes]:
        for key in keys:
            _check_key(key)
        payload = self._ask(Message.GET_STATE_MULTIPLE, chaincode_shim_pb2.GetStateMultiple(keys=list(keys), collection=collection))
        return [bytes(v) for v in chaincode_shim_pb2.GetStateMultipleResult.FromString(payload).values]

    def put_state(self, key: str, value: bytes, collection: str = "") -> None:
        _check_key(key)
        if not isinstance(value, (bytes, bytearray)):
            raise ChaincodeStubError(f"value of {key!r} must be bytes, found {type(value).__name__}")
        self._ask(Message.PUT_STATE, chaincode_shim_pb2.PutState(key=key, value=bytes(value), collection=collection))

    def del_state(self, key: str, collection: str = "") -> None:
        _check_key(key)
        self._ask(Message.DEL_STATE, chaincode_shim_pb2.DelState(key=key, collection=collection))

    def get_state_metadata(self, key: str, collection: str = "") -> dict[str, bytes]:
        _check_key(key)
        payload = self._ask(Message.GET_STATE_METADATA, chaincode_shim_pb2.GetStateMetadata(key=key, collection=collection))
        return {e.metakey: bytes(e.value) for e in chaincode_shim_pb2.StateMetadataResult.FromString(payload).entries}

    def put_state_metadata(self, key: str, name: str, value: bytes, collection: str = "") -> None:
        _check_key(key)
        entry = chaincode_shim_pb2.StateMetadata(metakey=name, value=value)
        self._ask(Message.PUT_STATE_METADATA, chaincode_shim_pb2.PutStateMetadata(key=key, collection=collection, metadata=entry))

    def get_state_validation_parameter(self, key: str) -> bytes:
        """The key's own endorsement policy (a SignaturePolicyEnvelope), b'' if it has none."""
        return self.get_state_metadata(key).get(VALIDATION_PARAMETER, b"")

    def set_state_validation_parameter(self, key: str, policy: bytes) -> None:
        """Give `key` its own endorsement policy (state-based endorsement)."""
        self.put_state_metadata(key, VALIDATION_PARAMETER, policy)

    def _query(self, kind: int, request: Any) -> chaincode_shim_pb2.QueryResponse:
        return chaincode_shim_pb2.QueryResponse.FromString(self._ask(kind, request))

    def _page(self, response: chaincode_shim_pb2.QueryResponse) -> tuple[StateQueryIterator, QueryMetadata]:
        return StateQueryIterator(self._ask, response), _metadata(response)

    def _range(self, start: str, end: str, metadata: chaincode_shim_pb2.QueryMetadata | None,
               collection: str = "") -> chaincode_shim_pb2.QueryResponse:
        request = chaincode_shim_pb2.GetStateByRange(startKey=start, endKey=end, collection=collection)
        if metadata is not None:
            request.metadata = metadata.SerializeToString()
        return self._query(Message.GET_STATE_BY_RANGE, request)

    def get_state_by_range(self, start: str, end: str) -> StateQueryIterator:
        """Keys in [start, end) in key order; '' for either bound means unbounded."""
        _check_simple_bounds(start, end)
        return StateQueryIterator(self._ask, self._range(start or "\x01", end, None))

    def get_state_by_range_with_pagination(self, start: str, end: str, page_size: int,
                                           bookmark: str = "") -> tuple[StateQueryIterator, QueryMetadata]:
        _check_simple_bounds(start, end)
        return self._page(self._range(start or "\x01", end, _page_metadata(page_size, bookmark)))

    def get_state_by_partial_composite_key(self, object_type: str, attributes: Sequence[str]) -> StateQueryIterator:
        prefix = self.create_composite_key(object_type, attributes)
        return StateQueryIterator(self._ask, self._range(prefix, prefix + MAX_UNICODE_RUNE, None))

    def get_state_by_partial_composite_key_with_pagination(
        self, object_type: str, attributes: Sequence[str], page_size: int, bookmark: str = ""
    ) -> tuple[StateQueryIterator, QueryMetadata]:
        prefix = self.create_composite_key(object_type, attributes)
        return self._page(self._range(prefix, prefix + MAX_UNICODE_RUNE, _page_metadata(page_size, bookmark)))

    def _rich(self, query: str, metadata: chaincode_shim_pb2.QueryMetadata | None,
              collection: str = "") -> chaincode_shim_pb2.QueryResponse:
        request = chaincode_shim_pb2.GetQueryResult(query=query, collection=collection)
        if metadata is not None:
            request.metadata = metadata.SerializeToString()
        return self._query(Message.GET_QUERY_RESULT, request)

    def get_query_result(self, query: str) -> StateQueryIterator:
        """A rich query: a CouchDB Mango selector in JSON over this chaincode's JSON values."""
        return StateQueryIterator(self._ask, self._rich(query, None))

    def get_query_result_with_pagination(self, query: str, page_size: int,
                                         bookmark: str = "") -> tuple[StateQueryIterator, QueryMetadata]:
        return self._page(self._rich(query, _page_metadata(page_size, bookmark)))

    def get_history_for_key(self, key: str) -> HistoryQueryIterator:
        _check_key(key)
        return HistoryQueryIterator(self._ask, self._query(Message.GET_HISTORY_FOR_KEY,
                                                           chaincode_shim_pb2.GetHistoryForKey(key=key)))

    def invoke_chaincode(self, name: str, args: Sequence[bytes | str], channel: str = "") -> proposal_response_pb2.Response:
        """Call another chaincode in this transaction. On this channel it may read and write;
        on another channel (`channel`) it can only read, as in Fabric."""
        target = f"{name}/{channel}" if channel else name
        spec = chaincode_pb2.ChaincodeSpec(
            chaincode_id=chaincode_pb2.ChaincodeID(name=target),
            input=chaincode_pb2.ChaincodeInput(args=[a.encode() if isinstance(a, str) else a for a in args]),
        )
        payload = self._ask(Message.INVOKE_CHAINCODE, spec)
        completed = Message.FromString(payload)
        return proposal_response_pb2.Response.FromString(completed.payload)

    def set_event(self, name: str, payload: bytes = b"") -> None:
        """The transaction's chaincode event (one per transaction; the last one set wins)."""
        if not name:
            raise ChaincodeStubError("an event needs a name")
        self.event = chaincode_event_pb2.ChaincodeEvent(event_name=name, payload=payload, tx_id=self.tx_id)

    # ----- private data -------------------------------------------------------------

    def get_private_data(self, collection: str, key: str) -> bytes:
        """The committed value in the peer's private state, b'' when absent; a peer outside
        the collection refuses."""
        _check_key(collection, "collection")
        return self.get_state(key, collection)

    def get_private_data_multiple(self, collection: str, keys: Sequence[str]) -> list[bytes]:
        _check_key(collection, "collection")
        return self.get_state_multiple(keys, collection)

    def get_private_data_hash(self, collection: str, key: str) -> bytes:
        """SHA-256 of the committed value (b'' when absent), from the hashes on chain: any
        peer of the channel answers, member of the collection or not."""
        _check_key(collection, "collection")
        _check_key(key)
        return self._ask(Message.GET_PRIVATE_DATA_HASH, chaincode_shim_pb2.GetState(key=key, collection=collection))

    def put_private_data(self, collection: str, key: str, value: bytes) -> None:
        """Only the hashes of key and value go on chain; the endorser hands the value to member peers."""
        _check_key(collection, "collection")
        self.put_state(key, value, collection)

    def del_private_data(self, collection: str, key: str) -> None:
        _check_key(collection, "collection")
        self.del_state(key, collection)

    def purge_private_data(self, collection: str, key: str) -> None:
        """As del_private_data, and the member peers also erase the key's earlier versions from
        their private data stores (Fabric 2.5): for data that must be forgotten."""
        _check_key(collection, "collection")
        _check_key(key)
        self._ask(Message.PURGE_PRIVATE_DATA, chaincode_shim_pb2.DelState(key=key, collection=collection))

    def get_private_data_by_range(self, collection: str, start: str, end: str) -> StateQueryIterator:
        """Keys of the collection in [start, end); '' for either bound means unbounded."""
        _check_key(collection, "collection")
        _check_simple_bounds(start, end)
        return StateQueryIterator(self._ask, self._range(start or "\x01", end, None, collection))

    def get_private_data_by_partial_composite_key(self, collection: str, object_type: str,
                                                  attributes: Sequence[str]) -> StateQueryIterator:
        _check_key(collection, "collection")
        prefix = self.create_composite_key(object_type, attributes)
        return StateQueryIterator(self._ask, self._range(prefix, prefix + MAX_UNICODE_RUNE, None, collection))

    def get_private_data_query_result(self, collection: str, query: str) -> StateQueryIterator:
        """A rich query (a CouchDB Mango selector) over the collection's JSON values."""
        _check_key(collection, "collection")
        return StateQueryIterator(self._ask, self._rich(query, None, collection))

    def get_private_data_validation_parameter(self, collection: str, key: str) -> bytes:
        """The private key's own endorsement policy, b'' if it has none."""
        _check_key(collection, "collection")
        return self.get_state_metadata(key, collection).get(VALIDATION_PARAMETER, b"")

    def set_private_data_validation_parameter(self, collection: str, key: str, policy: bytes) -> None:
        _check_key(collection, "collection")
        self.put_state_metadata(key, VALIDATION_PARAMETER, policy, collection)

    # ----- composite keys -------------------------------------------------------------

    @staticmethod
    def create_composite_key(object_type: str, attributes: Sequence[str]) -> str:
        for part in (object_type, *attributes):
            if not isinstance(part, str):
                raise ChaincodeStubError(f"composite key parts must be strings, found {part!r}")
            if COMPOSITE_NS in part or MAX_UNICODE_RUNE in part:
                raise ChaincodeStubError(f"composite key part {part!r} contains U+0000 or U+10FFFF")
        return COMPOSITE_NS + object_type + COMPOSITE_NS + "".join(a + COMPOSITE_NS for a in attributes)

    @staticmethod
    def split_composite_key(key: str) -> tuple[str, list[str]]:
        if not key.startswith(COMPOSITE_NS):
            raise ChaincodeStubError(f"{key!r} is not a composite key")
        parts = key[1:].split(COMPOSITE_NS)
        return parts[0], parts[1:-1]


def _metadata(response: chaincode_shim_pb2.QueryResponse) -> QueryMetadata:
    meta = chaincode_shim_pb2.QueryResponseMetadata.FromString(response.metadata)
    return QueryMetadata(meta.fetched_records_count, meta.bookmark)


def _check_simple_bounds(start: str, end: str) -> None:
    """Range bounds are simple keys, as in Fabric's shims: composite keys have their own calls."""
    for bound in (start, end):
        if bound.startswith(COMPOSITE_NS):
            raise ChaincodeStubError("range bounds must not be composite keys; use get_state_by_partial_composite_key")


def _page_metadata(page_size: int, bookmark: str) -> chaincode_shim_pb2.QueryMetadata:
    if page_size <= 0:
        raise ChaincodeStubError(f"page size must be positive, found {page_size}")
    return chaincode_shim_pb2.QueryMetadata(pageSize=page_size, bookmark=bookmark)
