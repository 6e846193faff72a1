"""The peer's side of the ChaincodeMessage protocol, over one chaincode's stream.

The chaincode registers (REGISTER → REGISTERED, READY); the peer then sends it
TRANSACTION or INIT messages and answers the requests each transaction makes from that
transaction's simulation, until the chaincode reports COMPLETED (or ERROR). Requests of
many transactions interleave on the stream; each is matched to its transaction by
channel and transaction id.

A request naming a collection works on private data, as the transaction's
`CollectionAccess` allows. Another chaincode may be invoked: on the same channel it shares the transaction's
simulation (its writes count), on another channel it only reads.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, TypeAlias

from fabric_protos.ledger.queryresult import kv_query_result_pb2
from fabric_protos.peer import chaincode_pb2, chaincode_shim_pb2, proposal_pb2
from google.protobuf.message import DecodeError

from consortia.errors import ConsortiaError
from consortia.outbox import Outbox
from peer.chaincode.collections import CollectionAccess
from peer.endorser.simulator import RangeScan, TxSimulator
from peer.ledger.queries import KV

log = logging.getLogger(__name__)

Message: TypeAlias = chaincode_shim_pb2.ChaincodeMessage
BATCH = 100  # results per QueryResponse, as Fabric's default


class ChaincodeCallError(ConsortiaError):
    """A request of the chaincode cannot be served; the chaincode receives the message."""


class Invoker(Protocol):
    """Runs another chaincode for INVOKE_CHAINCODE (the chaincode registry does)."""

    async def invoke(self, caller: TxContext, target: str, channel: str,
                     spec_input: chaincode_pb2.ChaincodeInput) -> Message: ...


@dataclass
class TxContext:
    """One transaction's execution of one chaincode."""

    channel_id: str
    tx_id: str
    namespace: str
    simulator: TxSimulator
    signed_proposal: proposal_pb2.SignedProposal
    read_only: bool = False
    access: CollectionAccess | None = None  # None: no private data (another channel's chaincode)
    queries: dict[str, RangeScan | Iterator[bytes]] = field(default_factory=dict)
    done: asyncio.Future[Message] | None = None


class PeerChaincodeHandler:
    def __init__(self, send: Callable[[Message], Awaitable[None]], invoker: Invoker) -> None:
        self._invoker = invoker
        self.chaincode_id = ""
        self._contexts: dict[tuple[str, str], TxContext] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._outbox: Outbox[Message] = Outbox(send, self._write_failed)
        self.registered = asyncio.Event()
        self.closed = asyncio.Event()

    async def serve(self, incoming: AsyncIterator[Message], on_register: Callable[[PeerChaincodeHandler], None]) -> None:
        """Take the chaincode's registration, then its messages, until the stream ends."""
        writer = asyncio.create_task(self._outbox.run())
        try:
            async for message in incoming:
                kind = message.type
                if not self.chaincode_id:
                    self._register(message, on_register)
                elif kind == Message.COMPLETED or kind == Message.ERROR:
                    context = self._contexts.get((message.channel_id, message.txid))
                    if context is None or context.done is None or context.done.done():
                        log.warning("chaincode %s: %s for an unknown transaction %s", self.chaincode_id,
                                    Message.Type.Name(kind), message.txid[:8])
                    else:
                        context.done.set_result(message)
                elif kind == Message.KEEPALIVE:
                    continue
                elif kind == Message.INVOKE_CHAINCODE:
                    # Runs another chaincode: must not hold up this stream meanwhile.
                    task = asyncio.create_task(self._serve_invoke(message))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                else:
                    self._serve_request(message)
        finally:
            writer.cancel()
            self._disconnect()

    def _disconnect(self) -> None:
        self.closed.set()
        for context in self._contexts.values():
            if context.done is not None and not context.done.done():
                context.done.set_exception(ChaincodeCallError(f"chaincode {self.chaincode_id} disconnected"))

    def _write_failed(self, exc: Exception) -> None:
        """The stream is broken: no transaction on it can finish."""
        log.warning("chaincode %s: writing to the chaincode failed: %s", self.chaincode_id, exc)
        self._disconnect()

    def _register(self, message: Message, on_register: Callable[[PeerChaincodeHandler], None]) -> None:
        if message.type != Message.REGISTER:
            raise ChaincodeCallError(f"a chaincode must REGISTER first, sent {Message.Type.Name(message.type)}")
        try:
            chaincode_id = chaincode_pb2.ChaincodeID.FromString(message.payload)
        except DecodeError as exc:
            raise ChaincodeCallError(f"REGISTER carries no ChaincodeID: {exc}") from exc
        if not chaincode_id.name:
            raise ChaincodeCallError("REGISTER names no chaincode")
        self.chaincode_id = chaincode_id.name
        on_register(self)
        self._outbox.post(Message(type=Message.REGISTERED))
        self._outbox.post(Message(type=Message.READY))
        self.registered.set()
        log.info("chaincode %s registered", self.chaincode_id)

    async def execute(self, context: TxContext, kind: int, spec_input: chaincode_pb2.ChaincodeInput,
                      timeout: float) -> Message:
        """Run one transaction on the chaincode; its COMPLETED or ERROR message."""
        key = (context.channel_id, context.tx_id)
        if key in self._contexts:
            raise ChaincodeCallError(f"transaction {context.tx_id[:8]} is already running on chaincode {self.chaincode_id}")
        if self.closed.is_set():
            raise ChaincodeCallError(f"chaincode {self.chaincode_id} is not connected")
        done = context.done = asyncio.get_running_loop().create_future()
        self._contexts[key] = context
        timer = asyncio.get_running_loop().call_later(timeout, _expire, done)
        try:
            self._outbox.post(Message(type=kind, payload=spec_input.SerializeToString(), txid=context.tx_id,
                                      channel_id=context.channel_id, proposal=context.signed_proposal))
            return await done
        except TimeoutError as exc:
            raise ChaincodeCallError(f"chaincode {self.chaincode_id} did not complete within {timeout:g}s") from exc
        finally:
            timer.cancel()
            del self._contexts[key]

    def _serve_request(self, message: Message) -> None:
        """Every request but INVOKE_CHAINCODE: answered at once from the simulation."""
        context = self._contexts.get((message.channel_id, message.txid))
        try:
            if context is None:
                raise ChaincodeCallError(f"transaction {message.txid[:8]} is not running on this chaincode")
            reply = Message(type=Message.RESPONSE, payload=self._answer_now(context, message), txid=message.txid,
                            channel_id=message.channel_id)
        except Exception as exc:
            reply = self._refusal(message, exc)
        if not self.closed.is_set():
            self._outbox.post(reply)

    async def _serve_invoke(self, message: Message) -> None:
        context = self._contexts.get((message.channel_id, message.txid))
        try:
            if context is None:
                raise ChaincodeCallError(f"transaction {message.txid[:8]} is not running on this chaincode")
            spec = chaincode_pb2.ChaincodeSpec.FromString(message.payload)
            target, _, channel = spec.chaincode_id.name.partition("/")
            if not target:
                raise ChaincodeCallError("INVOKE_CHAINCODE names no chaincode")
            completed = await self._invoker.invoke(context, target, channel or context.channel_id, spec.input)
            reply = Message(type=Message.RESPONSE, payload=completed.SerializeToString(), txid=message.txid,
                            channel_id=message.channel_id)
        except Exception as exc:
            reply = self._refusal(message, exc)
        if not self.closed.is_set():
            self._outbox.post(reply)

    def _refusal(self, message: Message, exc: Exception) -> Message:
        """The ERROR answer to a request that could not be served."""
        if isinstance(exc, (ChaincodeCallError, ConsortiaError, DecodeError)):
            text = str(exc)
        else:  # a peer bug: tell the chaincode, keep serving
            log.error("chaincode %s: serving %s failed", self.chaincode_id, Message.Type.Name(message.type),
                      exc_info=exc)
            text = f"the peer failed to serve {Message.Type.Name(message.type)}: {exc}"
        return Message(type=Message.ERROR, payload=text.encode(), txid=message.txid, channel_id=message.channel_id)

    def _answer_now(self, context: TxContext, message: Message) -> bytes:
        """Every request but INVOKE_CHAINCODE: answered at once from the simulation."""
        kind = message.type
        sim, ns = context.simulator, context.namespace
        shim = chaincode_shim_pb2
        if kind == Message.GET_STATE:
            request = shim.GetState.FromString(message.payload)
            return self._get(context, request.collection, request.key) or b""
        if kind == Message.GET_STATE_MULTIPLE:
            multiple = shim.GetStateMultiple.FromString(message.payload)
            values = [self._get(context, multiple.collection, k) or b"" for k in multiple.keys]
            return bytes(shim.GetStateMultipleResult(values=values).SerializeToString())
        if kind == Message.PUT_STATE:
            put = shim.PutState.FromString(message.payload)
            self._put(context, put.collection, _key(put.key), put.value)
            return b""
        if kind == Message.DEL_STATE:
            delete = shim.DelState.FromString(message.payload)
            self._put(context, delete.collection, _key(delete.key), None)
            return b""
        if kind == Message.PURGE_PRIVATE_DATA:
            purge = shim.DelState.FromString(message.payload)
            if not purge.collection:
                raise ChaincodeCallError("purging private data needs a collection")
            self._writable(context, purge.collection)
            sim.purge_private(ns, purge.collection, _key(purge.key))
            return b""
        if kind == Message.WRITE_BATCH_STATE:
            for record in shim.WriteBatchState.FromString(message.payload).rec:
                if record.type == shim.WriteRecord.PUT_STATE:
                    self._put(context, record.collection, _key(record.key), record.value)
                elif record.type == shim.WriteRecord.DEL_STATE:
                    self._put(context, record.collection, _key(record.key), None)
                elif record.type == shim.WriteRecord.PUT_STATE_METADATA:
                    self._put_metadata(context, record.collection, _key(record.key), record.metadata)
                elif record.type == shim.WriteRecord.PURGE_PRIVATE_DATA and record.collection:
                    self._writable(context, record.collection)
                    sim.purge_private(ns, record.collection, _key(record.key))
                else:
                    raise ChaincodeCallError(f"write batch record type {record.type} is not supported")
            return b""
        if kind == Message.GET_PRIVATE_DATA_HASH:
            request = shim.GetState.FromString(message.payload)
            self._collection(context, request.collection).config(ns, request.collection)
            return sim.get_private_hash(ns, request.collection, request.key) or b""
        if kind == Message.GET_STATE_METADATA:
            get_meta = shim.GetStateMetadata.FromString(message.payload)
            if get_meta.collection:
                self._collection(context, get_meta.collection).config(ns, get_meta.collection)
                entries = sim.get_private_metadata(ns, get_meta.collection, get_meta.key)
            else:
                entries = sim.get_state_metadata(ns, get_meta.key)
            return bytes(shim.StateMetadataResult(
                entries=[shim.StateMetadata(metakey=k, value=entries[k]) for k in sorted(entries)]
            ).SerializeToString())
        if kind == Message.PUT_STATE_METADATA:
            put_meta = shim.PutStateMetadata.FromString(message.payload)
            self._put_metadata(context, put_meta.collection, _key(put_meta.key), put_meta.metadata)
            return b""
        if kind == Message.GET_STATE_BY_RANGE:
            by_range = shim.GetStateByRange.FromString(message.payload)
            paging = shim.QueryMetadata.FromString(by_range.metadata) if by_range.metadata else None
            if by_range.collection:
                self._private_query(context, by_range.collection, paging)
                in_range = sim.private_range(ns, by_range.collection, by_range.startKey, by_range.endKey)
                return self._first_batch(context, (_kv_bytes(ns, kv) for kv in in_range))
            if paging is not None and paging.pageSize > 0:
                page = sim.range_page(ns, by_range.startKey, by_range.endKey, paging.pageSize, paging.bookmark)
                return _page_response(ns, page.items, page.bookmark)
            return self._first_batch(context, sim.range_scan(ns, by_range.startKey, by_range.endKey))
        if kind == Message.GET_QUERY_RESULT:
            rich = shim.GetQueryResult.FromString(message.payload)
            paging = shim.QueryMetadata.FromString(rich.metadata) if rich.metadata else None
            if rich.collection:
                self._private_query(context, rich.collection, paging)
                page = sim.private_query(ns, rich.collection, rich.query)
            elif paging is not None and paging.pageSize > 0:
                page = sim.query(ns, rich.query, paging.pageSize, paging.bookmark)
                return _page_response(ns, page.items, page.bookmark)
            else:
                page = sim.query(ns, rich.query)
            return self._first_batch(context, iter([_kv_bytes(ns, kv) for kv in page.items]))
        if kind == Message.GET_HISTORY_FOR_KEY:
            history = shim.GetHistoryForKey.FromString(message.payload)
            found = sim.queries.history(ns, history.key)
            return self._first_batch(context, iter([bytes(m.SerializeToString()) for m in found]))
        if kind == Message.QUERY_STATE_NEXT:
            query_id = shim.QueryStateNext.FromString(message.payload).id
            return self._next_batch(context, query_id)
        if kind == Message.QUERY_STATE_CLOSE:
            query_id = shim.QueryStateClose.FromString(message.payload).id
            scan = context.queries.pop(query_id, None)
            if isinstance(scan, RangeScan):
                scan.close()
            return bytes(shim.QueryResponse(has_more=False, id=query_id).SerializeToString())
        raise ChaincodeCallError(f"message type {Message.Type.Name(kind)} is not supported")

    # ----- public state or a collection -------------------------------------------------

    @staticmethod
    def _collection(context: TxContext, collection: str) -> CollectionAccess:
        if context.access is None:
            raise ChaincodeCallError(f"chaincode {context.namespace} cannot use private data on channel "
                                     f"{context.channel_id} from another channel (collection {collection!r})")
        return context.access

    def _get(self, context: TxContext, collection: str, key: str) -> bytes | None:
        if not collection:
            return context.simulator.get_state(context.namespace, key)
        self._collection(context, collection).check_read(context.namespace, collection)
        return context.simulator.get_private(context.namespace, collection, key)

    def _put(self, context: TxContext, collection: str, key: str, value: bytes | None) -> None:
        sim, ns = context.simulator, context.namespace
        self._writable(context, collection)
        if not collection and value is not None:
            sim.set_state(ns, key, value)
        elif not collection:
            sim.delete_state(ns, key)
        elif value is not None:
            sim.set_private(ns, collection, key, value)
        else:
            sim.delete_private(ns, collection, key)

    def _put_metadata(self, context: TxContext, collection: str, key: str,
                      entry: chaincode_shim_pb2.StateMetadata) -> None:
        self._writable(context, collection)
        if collection:
            context.simulator.set_private_metadata(context.namespace, collection, key, entry.metakey, entry.value)
        else:
            context.simulator.set_state_metadata(context.namespace, key, entry.metakey, entry.value)

    def _private_query(self, context: TxContext, collection: str,
                       paging: chaincode_shim_pb2.QueryMetadata | None) -> None:
        if paging is not None and paging.pageSize > 0:
            raise ChaincodeCallError("pagination is not supported for private data queries (as in Fabric)")
        self._collection(context, collection).check_read(context.namespace, collection)

    def _writable(self, context: TxContext, collection: str = "") -> None:
        if context.read_only:
            raise ChaincodeCallError(f"chaincode {context.namespace} was invoked on channel {context.channel_id} "
                                     "from another channel: it can only read there")
        if collection:
            self._collection(context, collection).check_write(context.namespace, collection)

    def _first_batch(self, context: TxContext, source: RangeScan | Iterator[bytes]) -> bytes:
        query_id = str(next(self._ids))
        context.queries[query_id] = source
        return self._next_batch(context, query_id)

    def _next_batch(self, context: TxContext, query_id: str) -> bytes:
        source = context.queries.get(query_id)
        if source is None:
            raise ChaincodeCallError(f"query {query_id} is not open")
        if isinstance(source, RangeScan):
            items, more = source.next_batch(BATCH)
            results = [_kv_bytes(context.namespace, kv) for kv in items]
        else:
            results = list(itertools.islice(source, BATCH + 1))
            more = len(results) > BATCH
            if more:
                context.queries[query_id] = itertools.chain(results[BATCH:], source)
                results = results[:BATCH]
        if not more:
            context.queries.pop(query_id, None)
        return bytes(chaincode_shim_pb2.QueryResponse(
            results=[chaincode_shim_pb2.QueryResultBytes(resultBytes=r) for r in results], has_more=more, id=query_id,
        ).SerializeToString())


def _expire(done: asyncio.Future[Message]) -> None:
    if not done.done():
        done.set_exception(TimeoutError())


def _key(key: str) -> str:
    if not key:
        raise ChaincodeCallError("a key must not be empty")
    return key


def _kv_bytes(ns: str, kv: KV) -> bytes:
    return bytes(kv_query_result_pb2.KV(namespace=ns, key=kv.key, value=kv.value).SerializeToString())


def _page_response(ns: str, items: list[KV], bookmark: str) -> bytes:
    metadata = chaincode_shim_pb2.QueryResponseMetadata(fetched_records_count=len(items), bookmark=bookmark)
    return bytes(chaincode_shim_pb2.QueryResponse(
        results=[chaincode_shim_pb2.QueryResultBytes(resultBytes=_kv_bytes(ns, kv)) for kv in items],
        has_more=False, metadata=metadata.SerializeToString(),
    ).SerializeToString())


__all__ = ["ChaincodeCallError", "PeerChaincodeHandler", "TxContext"]
