"""One channel on a peer: its ledger, its configuration, and the loop that keeps it current.

The loop takes verified blocks from the block puller, validates each transaction, and
commits the block with its validation codes. Validation and commit run in a worker
thread, one block at a time, so the event loop keeps serving clients meanwhile. If a
block cannot be committed (a disk error, say), nothing is marked invalid: the loop
logs, waits, and pulls again from the ledger's height.

Private data: a block's valid transactions may have written collections this peer's
organization is a member of. Their write sets come from the transient store (what this
peer endorsed, or other endorsers pushed); what is not there is pulled from other member
peers for at most `pull_timeout` seconds, and the block commits without what is still
missing, which a background reconciler keeps asking for.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.peer import collection_pb2, transaction_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.delivery import HeightNotifier
from consortia.errors import MessageError
from consortia.lifecycle.collections import member_msp_ids
from consortia.msp.signing import SigningIdentity
from consortia.protoutil.envelope import unpack_envelope
from consortia.protoutil.transaction import unpack_transaction
from consortia.tasks import cancel_and_wait
from peer.blockpuller import BlockPuller, ClientTLS
from peer.committer.validator import EndorsementPolicies, TxValidator, ValidationResult
from peer.endorser.simulator import TxSimulator
from peer.ledger.kvledger import LedgerError, PeerLedger
from peer.ledger.pvtcommit import CollectionRules, Received
from peer.ledger.pvtdata import CollPvtRWSet, consistent, encode_pvt, parse_pvt, private_ns
from peer.ledger.queries import LedgerQueries
from peer.ledger.rwset import CollHashedRWSet, TxRWSet, parse_rwset
from peer.ledger.statedb import MissingPrivate, StateReader
from peer.ledger.transient import TRANSIENT_FILE, TransientStore
from peer.privatedata.network import PrivateDataNetwork
from peer.txwaiters import TxWaiters

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.0
PULL_TIMEOUT = 5.0  # how long a block's commit waits for private data it lacks
RECONCILE_SECONDS = 10.0
VALID = transaction_pb2.VALID

Wanted = list[tuple[MissingPrivate, collection_pb2.StaticCollectionConfig]]


class PeerChannel:
    def __init__(self, ledger: PeerLedger, signer: SigningIdentity, tls: ClientTLS | None = None,
                 policies: EndorsementPolicies | None = None, max_backoff: float = 5.0) -> None:
        self.ledger = ledger
        self.bundle = ChannelBundle.from_config(config_from_block(ledger.blocks.get(0)))
        self.channel_id = self.bundle.channel_id
        self.validator = TxValidator(self.bundle, ledger.state(), policies)
        self.notifier = HeightNotifier(ledger.height)
        self.tx_waiters = TxWaiters()
        self.puller = BlockPuller(self.bundle, signer, self._position, tls, max_backoff)
        self._task: asyncio.Task[None] | None = None
        self._reconciler: asyncio.Task[None] | None = None
        self._readers: list[StateReader] = []
        transient = ledger.folder / TRANSIENT_FILE
        try:
            self.transient = TransientStore(transient)
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"{transient} cannot be opened ({exc}); it holds only the private data of "
                              "transactions endorsed and not yet committed: move it aside, and the peer starts with "
                              "an empty one (a commit that then lacks private data asks other member peers)") from exc
        self.private_network: PrivateDataNetwork | None = None  # set by the node: pushes and pulls
        self.pull_timeout = PULL_TIMEOUT
        self.reconcile_seconds = RECONCILE_SECONDS
        # Told the keys each committed block updated (called in the committing thread), and the
        # private namespaces reconciliation filled in later (called on the event loop).
        self.listeners: list[Callable[[str, Iterable[tuple[str, str]]], None]] = []

    @classmethod
    def open(cls, folder: Path, signer: SigningIdentity, tls: ClientTLS | None = None,
             policies: EndorsementPolicies | None = None, max_backoff: float = 5.0,
             collections: CollectionRules | None = None) -> PeerChannel:
        ledger = PeerLedger(folder, collections)
        try:
            return cls(ledger, signer, tls, policies, max_backoff)
        except BaseException:  # the channel cannot be served: release its ledger
            ledger.close()
            raise

    def _position(self) -> tuple[int, bytes]:
        return self.ledger.height, self.ledger.last_header_hash()

    # BlockSource, for Deliver
    @property
    def height(self) -> int:
        return self.ledger.height

    def read(self, number: int) -> common_pb2.Block:
        return self.ledger.blocks.get(number)

    async def wait_for_height(self, height: int) -> None:
        await self.notifier.wait_for(height)

    @contextmanager
    def reader(self) -> Iterator[StateReader]:
        """A read connection of its own (pooled), which sees committed state only."""
        reader = self._readers.pop() if self._readers else self.ledger.db.reader()
        try:
            yield reader
        finally:
            self._readers.append(reader)

    @asynccontextmanager
    async def simulation(self) -> AsyncIterator[TxSimulator]:
        """A simulator over a snapshot of committed state."""
        with self.reader() as reader, reader.snapshot():
            yield TxSimulator(reader, LedgerQueries(reader, self.ledger.blocks))

    def committed(self, tx_id: str) -> tuple[int, int, int] | None:
        """(block, position, validation code) of a committed transaction, or None."""
        with self.reader() as reader:
            return reader.tx_location(tx_id)

    def commit(self, block: common_pb2.Block) -> list[int]:
        """Validate and commit one block (in the calling thread) with the private data at
        hand, pulling none; its validation codes."""
        result = self.validator.validate(block)
        received, _ = self._private_at_hand(block, result)
        return self._store(block, result, received)

    def _store(self, block: common_pb2.Block, result: ValidationResult, received: Received) -> list[int]:
        valid = [(tx.index, tx.rwset) for tx in result.txs if result.codes[tx.index] == VALID and tx.rwset is not None]
        self.ledger.commit(block, result.codes, result.updates, result.history, result.tx_ids(), valid, received)
        self.transient.committed([tx.tx_id for tx in result.txs if tx.tx_id], self.ledger.height)
        for listener in self.listeners:
            listener(self.channel_id, result.updates.keys())
        return result.codes

    # ----- private data ---------------------------------------------------------------

    def _private_at_hand(self, block: common_pb2.Block, result: ValidationResult) -> tuple[dict[tuple[int, str, str], bytes], Wanted]:
        """The write sets this peer should keep for the block's valid transactions: those in
        the transient store, and those it lacks (with their collection configs)."""
        number = int(block.header.number)
        received: dict[tuple[int, str, str], bytes] = {}
        wanted: Wanted = []
        state = self.ledger.state()
        for tx in result.txs:
            if result.codes[tx.index] != VALID or tx.rwset is None:
                continue
            stored: list[CollPvtRWSet] | None = None
            for ns in tx.rwset.namespaces:
                for coll in ns.collections:
                    if not coll.pvt_rwset_hash or not self.ledger.collections.keeps(state, ns.namespace, coll.collection):
                        continue
                    if stored is None:
                        stored = [c for raw in self.transient.get(tx.tx_id) for c in _parse_or_skip(raw)]
                    match = next((c for c in stored if (c.namespace, c.collection) == (ns.namespace, coll.collection)
                                  and c.digest == coll.pvt_rwset_hash), None)
                    if match is not None:
                        received[(tx.index, ns.namespace, coll.collection)] = match.rwset
                        continue
                    config = self.validator.policies.collection(ns.namespace, coll.collection)
                    if config is not None:
                        wanted.append((MissingPrivate(number, tx.index, ns.namespace, coll.collection,
                                                      coll.pvt_rwset_hash), config))
        return received, wanted

    async def _pull(self, wanted: Wanted, tx_ids: dict[tuple[int, int], str],
                    hashed: Callable[[MissingPrivate], CollHashedRWSet | None]) -> dict[MissingPrivate, bytes]:
        """What other member peers give of the `wanted` write sets, each checked against
        the hashed set of its transaction (`hashed`)."""
        if not wanted or self.private_network is None:
            return {}

        def accept(missing: MissingPrivate, rwset: bytes) -> bool:
            expected = hashed(missing)
            return expected is not None and consistent(CollPvtRWSet(missing.namespace, missing.collection, rwset),
                                                       expected)

        try:
            return await asyncio.wait_for(self.private_network.pull(self.bundle, tx_ids, wanted, accept),
                                          self.pull_timeout)
        except TimeoutError:
            log.warning("[%s] pulling %d private write set(s) timed out; the reconciler will retry",
                        self.channel_id, len(wanted))
            return {}

    def private_write_set(self, tx_id: str, block: int, tx: int, namespace: str, collection: str,
                          digest: bytes) -> bytes | None:
        """A write set this peer holds for another member peer that lacks it: the one it
        committed (what purges left of it: the requester checks it key by key), or one in
        its transient store whose hash is `digest`."""
        with self.reader() as reader:
            committed = reader.private_write_sets(block, tx).get((namespace, collection))
        if committed is not None:
            return committed
        pending = [c.rwset for raw in self.transient.get(tx_id) for c in _parse_or_skip(raw)
                   if (c.namespace, c.collection) == (namespace, collection)] if tx_id else []
        return next((c for c in pending if CollPvtRWSet(namespace, collection, c).digest == digest), None)

    def private_data_of(self, number: int, msp_id: str) -> dict[int, rwset_pb2.TxPvtReadWriteSet]:
        """The private write sets of block `number` this peer holds, by position in the block,
        of the collections `msp_id` is a member of (for DeliverWithPrivateData)."""
        with self.reader() as reader:
            held = reader.private_block(number)
        by_tx: dict[int, list[CollPvtRWSet]] = {}
        for tx, namespace, collection, rwset in held:
            config = self.validator.policies.collection(namespace, collection)
            if config is not None and msp_id in member_msp_ids(config):
                by_tx.setdefault(tx, []).append(CollPvtRWSet(namespace, collection, rwset))
        return {tx: rwset_pb2.TxPvtReadWriteSet.FromString(encode_pvt(sets)) for tx, sets in by_tx.items()}

    async def _reconcile(self) -> None:
        """Keep asking member peers for the private write sets this peer lacks."""
        while True:
            await asyncio.sleep(self.reconcile_seconds)
            try:
                await self.reconcile_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("[%s] reconciling private data failed", self.channel_id)

    async def reconcile_once(self) -> int:
        """One round of reconciliation; how many missing write sets were filled."""
        if self.private_network is None:
            return 0
        with self.reader() as reader:
            missing = reader.missing_private()
        wanted: Wanted = []
        tx_ids: dict[tuple[int, int], str] = {}
        for item in missing:
            config = self.validator.policies.collection(item.namespace, item.collection)
            if config is None:
                continue
            wanted.append((item, config))
            tx_ids[(item.block, item.tx)] = _tx_id(self.ledger.blocks.get(item.block), item.tx)

        def hashed(item: MissingPrivate) -> CollHashedRWSet | None:
            return _hashed_set(self.ledger.blocks.get(item.block), item)

        found = await self._pull(wanted, tx_ids, hashed)
        for item, rwset in found.items():
            stored = await asyncio.to_thread(self.ledger.db.fill_missing, item, rwset)
            log.info("[%s] reconciled private data of block %d tx %d (%s/%s): %d value(s)", self.channel_id,
                     item.block, item.tx, item.namespace, item.collection, stored)
        if found:  # e.g. this org's approval of a chaincode, which says what package to run
            filled = [(private_ns(item.namespace, item.collection), "") for item in found]
            for listener in self.listeners:
                listener(self.channel_id, filled)
        return len(found)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"commit-{self.channel_id}")
        self._reconciler = asyncio.create_task(self._reconcile(), name=f"reconcile-{self.channel_id}")

    async def _commit_pulled(self, block: common_pb2.Block) -> ValidationResult:
        """Validate, gather private data (pulling what is missing), commit."""
        result = await asyncio.to_thread(self.validator.validate, block)
        received, wanted = self._private_at_hand(block, result)  # quick: reads only for collections
        if wanted:
            tx_ids = {(m.block, m.tx): result.txs[m.tx].tx_id for m, _ in wanted}

            def hashed(item: MissingPrivate) -> CollHashedRWSet | None:
                rwset = result.txs[item.tx].rwset
                return None if rwset is None else _collection_of(rwset, item)

            pulled = await self._pull(wanted, tx_ids, hashed)
            received.update({(m.tx, m.namespace, m.collection): rwset for m, rwset in pulled.items()})
            if len(pulled) < len(wanted):
                log.warning("[%s] block %d commits without %d private write set(s) this peer should keep; "
                            "the reconciler will fetch them", self.channel_id, block.header.number,
                            len(wanted) - len(pulled))
        await asyncio.to_thread(self._store, block, result, received)
        return result

    async def _run(self) -> None:
        while True:
            try:
                async for block in self.puller.blocks():
                    result = await self._commit_pulled(block)
                    self.notifier.advance(self.ledger.height)
                    self.tx_waiters.committed(int(block.header.number), result.tx_ids())
                    codes = result.codes
                    valid = sum(1 for c in codes if c == 0)
                    log.info("[%s] committed block %d: %d of %d transactions valid",
                             self.channel_id, block.header.number, valid, len(codes))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("[%s] cannot commit block %d; retrying in %.0fs",
                              self.channel_id, self.ledger.height, RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)

    async def stop(self) -> None:
        try:
            await cancel_and_wait(self._task, self._reconciler)
        finally:
            self._task = self._reconciler = None
            self.transient.close()
        for reader in self._readers:
            reader.close()
        self._readers.clear()
        self.ledger.close()


def _parse_or_skip(raw: bytes) -> list[CollPvtRWSet]:
    try:
        return parse_pvt(raw)
    except MessageError:
        return []


def _tx_id(block: common_pb2.Block, index: int) -> str:
    try:
        return unpack_envelope(block.data.data[index]).tx_id
    except (MessageError, IndexError):
        return ""


def _collection_of(rwset: TxRWSet, item: MissingPrivate) -> CollHashedRWSet | None:
    return next((c for ns in rwset.namespaces if ns.namespace == item.namespace
                 for c in ns.collections if c.collection == item.collection), None)


def _hashed_set(block: common_pb2.Block, item: MissingPrivate) -> CollHashedRWSet | None:
    """The hashed set a committed block records for a missing write set."""
    try:
        tx = unpack_transaction(block.data.data[item.tx])
        return _collection_of(parse_rwset(tx.actions[0].chaincode_action.results), item)
    except (MessageError, IndexError):
        return None
