"""TxValidator: the validation code of every transaction of a block, as Fabric decides it.

Two passes, as in Fabric. The first looks at each transaction alone (in block order):

    envelope decodes ............................. NIL_ENVELOPE / BAD_PAYLOAD
    headers well-formed, epoch 0, nonce, creator . BAD_COMMON_HEADER
    channel is this one .......................... TARGET_CHAIN_NOT_FOUND
    endorser transaction ......................... UNKNOWN_TX_TYPE
    creator valid, signature verifies ............ BAD_CREATOR_SIGNATURE
    tx id = sha256(nonce ‖ creator) .............. BAD_PROPOSAL_TXID
    creator satisfies /Channel/Application/Writers BAD_CREATOR_SIGNATURE
    chaincode header extension ................... BAD_HEADER_EXTENSION
    one action, matching proposal hash ........... INVALID_ENDORSER_TRANSACTION
    response payload and chaincode action ........ BAD_RESPONSE_PAYLOAD / INVALID_CHAINCODE
    read-write set decodes ....................... BAD_RWSET
    no writes to system namespaces ............... ILLEGAL_WRITESET
    tx id not in the ledger ...................... DUPLICATE_TXID
    every collection used is defined for its chaincode (or is the implicit collection of
    a channel org) ............................... ENDORSEMENT_POLICY_FAILURE
    endorsements satisfy, for every namespace written (and the one invoked), the key-level
    policy of each written key or else the chaincode's policy (the collection's, for a
    private key of a collection that has one) .... ENDORSEMENT_POLICY_FAILURE
    tx id not taken by an earlier transaction of the block that passed all of the above
                                                   DUPLICATE_TXID

(Fabric checks the Writers policy when endorsing; checking it again here keeps a
misbehaving orderer from slipping in a transaction by a non-writer. Fabric has no code
of its own for it; BAD_CREATOR_SIGNATURE is the closest.)

The second pass, again in block order, checks what the remaining valid transactions
read against committed state plus the writes of the valid transactions before them:
MVCC_READ_CONFLICT for a changed key (public, or the hash of a private one),
PHANTOM_READ_CONFLICT for a changed range.

Outcomes depend only on the block, the committed state and the channel config.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from fabric_protos.common import common_pb2
from fabric_protos.peer import collection_pb2, proposal_pb2, proposal_response_pb2, transaction_pb2

from consortia.channelconfig.bundle import ChannelBundle
from consortia.errors import IdentityError, MessageError, PolicyError, SignatureError
from consortia.msp.identity import Identity
from consortia.msp.signing import verify_signature
from consortia.policy import SignatureRule, signature_policy_from_bytes
from consortia.lifecycle.collections import find_config, member_msp_ids
from consortia.lifecycle.definition import LIFECYCLE, DefinitionError
from consortia.policy.paths import APPLICATION_ENDORSEMENT, APPLICATION_WRITERS
from consortia.protoutil.envelope import decode
from consortia.protoutil.proposal import proposal_hash
from consortia.protoutil.response import endorsement_signed_data
from consortia.protoutil.txid import compute_tx_id
from peer.committer.required import collection_rule, required_policies, validation_parameter
from peer.ledger.rwset import (
    KVRead,
    NsRWSet,
    RangeQuery,
    TxRWSet,
    Version,
    parse_rwset,
)
from peer.ledger.statedb import StateReader, StateUpdate
from peer.ledger.updates import History, apply_rwset, state_namespaces

log = logging.getLogger(__name__)

Code = transaction_pb2.TxValidationCode


class EndorsementPolicies(Protocol):
    """Where a namespace's endorsement policy comes from (chaincode definitions)."""

    def policy_for(self, namespace: str) -> SignatureRule | str:
        """A signature rule, or the path of a channel policy such as /Channel/Application/Endorsement."""
        ...

    def collection(self, namespace: str, name: str) -> collection_pb2.StaticCollectionConfig | None:
        """The chaincode's collection `name` (implicit ones included), None if it has none."""
        ...

    def defines_collections(self, namespace: str) -> bool:
        """Whether the chaincode's definition has collections (implicit ones aside)."""
        ...


class ChannelDefaultPolicies:
    """Until chaincode definitions exist, every namespace uses the channel's Endorsement
    policy, and has only the implicit collections."""

    def policy_for(self, namespace: str) -> SignatureRule | str:
        return APPLICATION_ENDORSEMENT

    def collection(self, namespace: str, name: str) -> collection_pb2.StaticCollectionConfig | None:
        return find_config(namespace, None, name)

    def defines_collections(self, namespace: str) -> bool:
        return False


@dataclass
class TxInfo:
    """What validation learned of one transaction, kept for the second pass and commit."""

    index: int
    tx_id: str = ""  # as soon as the headers decode, whatever the outcome
    chaincode: str = ""
    rwset: TxRWSet | None = None
    # The rwset as the state namespaces it reads and writes (its collections' hashes
    # included): worked out once, for the policy checks, MVCC and commit.
    parts: list[NsRWSet] = field(default_factory=list)
    reason: str = ""


@dataclass
class ValidationResult:
    codes: list[int]
    txs: list[TxInfo]
    # The block's state updates, from its valid transactions, ready to commit.
    updates: dict[tuple[str, str], StateUpdate] = field(default_factory=dict)
    history: list[tuple[str, str, Version]] = field(default_factory=list)

    def tx_ids(self) -> list[tuple[str, int, int]]:
        """(tx id, position, validation code) of every transaction whose headers decoded,
        for the ledger's transaction index (so it need not unpack the block again).
        Empty for the genesis block, which is trusted without being looked into."""
        return [(tx.tx_id, tx.index, self.codes[tx.index]) for tx in self.txs if tx.tx_id]


class _Invalid(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


class TxValidator:
    def __init__(self, bundle: ChannelBundle, state: StateReader,
                 policies: EndorsementPolicies | None = None) -> None:
        self.bundle = bundle
        self.state = state
        self.policies = policies or ChannelDefaultPolicies()
        self._vp_rules: dict[bytes, SignatureRule] = {}

    # ----- first pass ------------------------------------------------------------------

    def validate(self, block: common_pb2.Block) -> ValidationResult:
        number = int(block.header.number)
        txs = [TxInfo(index=i) for i in range(len(block.data.data))]
        codes = [int(Code.NOT_VALIDATED)] * len(txs)
        if number == 0:
            # The genesis block was handed over by an admin when joining: trusted as is.
            return ValidationResult(codes=[int(Code.VALID)] * len(txs), txs=txs)
        endorsed: list[tuple[int, list[Identity]]] = []
        for index, raw in enumerate(block.data.data):
            try:
                endorsers = self._check_transaction(raw, txs[index])
                codes[index] = int(Code.VALID)
                endorsed.append((index, endorsers))
            except _Invalid as invalid:
                codes[index] = invalid.code
                txs[index].reason = str(invalid)
        self._mark_committed_duplicates(codes, txs)
        result = ValidationResult(codes=codes, txs=txs)
        updated_vps: set[tuple[str, str]] = set()
        for index, endorsers in endorsed:
            if codes[index] != Code.VALID:
                continue
            try:
                self._check_endorsements(txs[index], endorsers, updated_vps)
            except _Invalid as invalid:
                codes[index] = invalid.code
                txs[index].reason = str(invalid)
                continue
            rwset = txs[index].rwset
            assert rwset is not None
            updated_vps.update((part.namespace, m.key) for part in txs[index].parts for m in part.metadata_writes)
        self._mark_block_duplicates(codes, txs)
        self._check_reads(number, result)
        for tx, code in zip(txs, codes):
            if code != Code.VALID and code != Code.NOT_VALIDATED:
                log.info("block %d tx %d (%s) invalid: %s: %s", number, tx.index, tx.tx_id[:8] or "-",
                         Code.Name(code), tx.reason)
        return result

    def _check_transaction(self, raw: bytes, info: TxInfo) -> list[Identity]:
        if not raw:
            raise _Invalid(Code.NIL_ENVELOPE, "empty envelope")
        try:
            envelope = decode(common_pb2.Envelope, raw, "envelope")
        except MessageError as exc:
            raise _Invalid(Code.NIL_ENVELOPE, str(exc)) from exc
        try:
            payload = decode(common_pb2.Payload, envelope.payload, "payload")
        except MessageError as exc:
            raise _Invalid(Code.BAD_PAYLOAD, str(exc)) from exc
        try:
            if not payload.HasField("header"):
                raise MessageError("payload has no header")
            channel_header = decode(common_pb2.ChannelHeader, payload.header.channel_header, "channel header")
            signature_header = decode(common_pb2.SignatureHeader, payload.header.signature_header, "signature header")
        except MessageError as exc:
            raise _Invalid(Code.BAD_COMMON_HEADER, str(exc)) from exc
        info.tx_id = channel_header.tx_id
        if channel_header.epoch != 0:
            raise _Invalid(Code.BAD_COMMON_HEADER, f"epoch must be 0, found {channel_header.epoch}")
        if not signature_header.nonce or not signature_header.creator:
            raise _Invalid(Code.BAD_COMMON_HEADER, "signature header needs a nonce and a creator")
        if channel_header.channel_id != self.bundle.channel_id:
            raise _Invalid(Code.TARGET_CHAIN_NOT_FOUND, f"transaction is for channel {channel_header.channel_id!r}")
        if channel_header.type != common_pb2.ENDORSER_TRANSACTION:
            raise _Invalid(Code.UNKNOWN_TX_TYPE, f"header type {channel_header.type} is not an endorser transaction")
        msps = self.bundle.msp_manager
        try:
            creator = msps.deserialize(signature_header.creator)
            msps.validate(creator)
            verify_signature(creator.public_key, envelope.signature, envelope.payload)
        except (IdentityError, SignatureError) as exc:
            raise _Invalid(Code.BAD_CREATOR_SIGNATURE, f"creator: {exc}") from exc
        if channel_header.tx_id != compute_tx_id(signature_header.nonce, signature_header.creator):
            raise _Invalid(Code.BAD_PROPOSAL_TXID, "transaction id is not sha256(nonce ‖ creator)")
        writers = self.bundle.policies.evaluate(APPLICATION_WRITERS, [creator])
        if not writers:
            raise _Invalid(Code.BAD_CREATOR_SIGNATURE, writers.reason)
        try:
            extension = decode(proposal_pb2.ChaincodeHeaderExtension, channel_header.extension, "header extension")
            if not extension.chaincode_id.name:
                raise MessageError("header extension names no chaincode")
        except MessageError as exc:
            raise _Invalid(Code.BAD_HEADER_EXTENSION, str(exc)) from exc
        info.chaincode = extension.chaincode_id.name
        try:
            transaction = decode(transaction_pb2.Transaction, payload.data, "transaction")
        except MessageError as exc:
            raise _Invalid(Code.BAD_PAYLOAD, str(exc)) from exc
        if len(transaction.actions) != 1:
            raise _Invalid(Code.INVALID_ENDORSER_TRANSACTION,
                           f"a transaction must have exactly one action, found {len(transaction.actions)}")
        action = transaction.actions[0]
        try:
            action_header = decode(common_pb2.SignatureHeader, action.header, "action header")
            if not action_header.nonce or not action_header.creator:
                raise MessageError("action header needs a nonce and a creator")
            action_payload = decode(transaction_pb2.ChaincodeActionPayload, action.payload, "action payload")
            proposal_payload = decode(proposal_pb2.ChaincodeProposalPayload,
                                      action_payload.chaincode_proposal_payload, "proposal payload")
        except MessageError as exc:
            raise _Invalid(Code.INVALID_ENDORSER_TRANSACTION, str(exc)) from exc
        try:
            response_payload = decode(proposal_response_pb2.ProposalResponsePayload,
                                      action_payload.action.proposal_response_payload, "proposal response payload")
            chaincode_action = decode(proposal_pb2.ChaincodeAction, response_payload.extension, "chaincode action")
        except MessageError as exc:
            raise _Invalid(Code.BAD_RESPONSE_PAYLOAD, str(exc)) from exc
        original = common_pb2.Header(channel_header=payload.header.channel_header, signature_header=action.header)
        if proposal_hash(original, proposal_payload) != response_payload.proposal_hash:
            raise _Invalid(Code.INVALID_ENDORSER_TRANSACTION, "proposal hash does not match the transaction")
        if chaincode_action.chaincode_id.name != info.chaincode:
            raise _Invalid(Code.INVALID_CHAINCODE,
                           f"header names chaincode {info.chaincode!r}, the response {chaincode_action.chaincode_id.name!r}")
        try:
            rwset = parse_rwset(chaincode_action.results)
        except MessageError as exc:
            raise _Invalid(Code.BAD_RWSET, str(exc)) from exc
        for ns in rwset.namespaces:
            if ns.namespace.startswith("_") and ns.collections and ns.namespace != LIFECYCLE:
                raise _Invalid(Code.ILLEGAL_WRITESET, f"system namespace {ns.namespace} has no collections")
            if ns.namespace.startswith("_") and ns.writes_anything and ns.namespace != info.chaincode:
                raise _Invalid(Code.ILLEGAL_WRITESET, f"transaction of {info.chaincode} writes to system namespace {ns.namespace}")
        info.rwset = rwset
        info.parts = [part for ns in rwset.namespaces for part in state_namespaces(ns)]
        endorsers = []
        payload_bytes = action_payload.action.proposal_response_payload
        for endorsement in action_payload.action.endorsements:
            try:
                identity = msps.verify_signed_data(endorsement_signed_data(payload_bytes, endorsement))
                msps.validate(identity)
            except (IdentityError, SignatureError) as exc:
                log.debug("tx %s: ignoring an endorsement: %s", info.tx_id[:8], exc)
                continue
            endorsers.append(identity)
        return endorsers

    def _mark_committed_duplicates(self, codes: list[int], txs: list[TxInfo]) -> None:
        """A transaction id already in the ledger (valid or not) cannot be used again."""
        candidates = [t for t, c in zip(txs, codes) if c == Code.VALID]
        in_ledger = self.state.existing_txids(t.tx_id for t in candidates)
        for tx in candidates:
            if tx.tx_id in in_ledger:
                codes[tx.index] = int(Code.DUPLICATE_TXID)
                tx.reason = "transaction id already used in the ledger"

    @staticmethod
    def _mark_block_duplicates(codes: list[int], txs: list[TxInfo]) -> None:
        """Within the block, the first transaction that passed validation owns its id
        (Fabric's markTXIdDuplicates): a failed one claims nothing."""
        seen: set[str] = set()
        for tx in txs:
            if codes[tx.index] != Code.VALID:
                continue
            if tx.tx_id in seen:
                codes[tx.index] = int(Code.DUPLICATE_TXID)
                tx.reason = "transaction id already used earlier in this block"
            seen.add(tx.tx_id)

    # ----- endorsement policies ------------------------------------------------------

    def _satisfied(self, policy: SignatureRule | str, endorsers: Sequence[Identity]) -> bool:
        if isinstance(policy, str):
            return bool(self.bundle.policies.evaluate(policy, endorsers))
        return self.bundle.policies.evaluate_rule(policy, endorsers)

    def _key_policy(self, ns: str, key: str) -> SignatureRule | None:
        vp = validation_parameter(self.state, ns, key)
        if vp is None:
            return None
        rule = self._vp_rules.get(vp)
        if rule is None:
            try:
                rule = signature_policy_from_bytes(vp)
            except PolicyError as exc:
                raise _Invalid(Code.ENDORSEMENT_POLICY_FAILURE, f"key {key!r} of {ns} has an unreadable policy: {exc}") from exc
            self._vp_rules[vp] = rule
        return rule

    def _collection_policy(self, namespace: str, name: str) -> SignatureRule | str | None:
        """The collection's own endorsement policy, if it has one; _Invalid if the
        collection does not exist for the chaincode."""
        config = self.policies.collection(namespace, name)
        if config is None:
            raise _Invalid(Code.ENDORSEMENT_POLICY_FAILURE, f"collection {name} is not defined for chaincode {namespace}")
        if not member_msp_ids(config) <= set(self.bundle.application_msp_ids):
            raise _Invalid(Code.ENDORSEMENT_POLICY_FAILURE,
                           f"collection {name} of {namespace} belongs to an organization not on the channel")
        try:
            return collection_rule(config)
        except DefinitionError as exc:
            raise _Invalid(Code.ENDORSEMENT_POLICY_FAILURE, f"collection {name} of {namespace}: {exc}") from exc

    def _check_endorsements(self, info: TxInfo, endorsers: list[Identity], updated_vps: set[tuple[str, str]]) -> None:
        rwset = info.rwset
        assert rwset is not None
        # Every collection used must exist, even one only read; each is looked up once.
        collection_policies = {(ns.namespace, coll.collection): self._collection_policy(ns.namespace, coll.collection)
                               for ns in rwset.namespaces for coll in ns.collections}
        for part in info.parts:
            for key in part.written_keys:
                if (part.namespace, key) in updated_vps:
                    raise _Invalid(Code.ENDORSEMENT_POLICY_FAILURE,
                                   f"the policy of key {key!r} in {part.namespace} changed earlier in this block")
        for needed in required_policies(rwset, info.chaincode, self.policies.policy_for, self._key_policy,
                                        lambda namespace, name: collection_policies[(namespace, name)]):
            if not self._satisfied(needed.policy, endorsers):
                raise _Invalid(Code.ENDORSEMENT_POLICY_FAILURE,
                               f"{needed.description} is not satisfied by {len(endorsers)} valid endorsement(s)")

    # ----- second pass: reads ---------------------------------------------------------

    def _check_reads(self, number: int, result: ValidationResult) -> None:
        view = _BlockView(self.state, result.updates)
        for info in result.txs:
            if result.codes[info.index] != Code.VALID or info.rwset is None:
                continue
            parts = info.parts
            try:
                for part in parts:
                    view.check_reads(part)
            except _Invalid as invalid:
                result.codes[info.index] = invalid.code
                info.reason = str(invalid)
                continue
            version = Version(number, info.index)
            for part in parts:
                view.apply(part, version, result.history)


class _BlockView:
    """Committed state overlaid with the writes of this block's valid transactions so far."""

    def __init__(self, state: StateReader, updates: dict[tuple[str, str], StateUpdate]) -> None:
        self.state = state
        self.updates = updates

    def check_reads(self, ns: NsRWSet) -> None:
        for read in ns.reads:
            # As Fabric: a key an earlier valid transaction of this block wrote or deleted
            # is a conflict whatever was read; otherwise the committed version must match.
            if (ns.namespace, read.key) in self.updates:
                raise _Invalid(Code.MVCC_READ_CONFLICT,
                               f"key {read.key!r} of {ns.namespace} was changed earlier in this block")
            committed = self.state.get(ns.namespace, read.key)
            if (None if committed is None else committed.version) != read.version:
                raise _Invalid(Code.MVCC_READ_CONFLICT, f"key {read.key!r} of {ns.namespace} changed since it was read")
        for query in ns.range_queries:
            self._check_range(ns.namespace, query)

    def _range(self, ns: str, query: RangeQuery) -> Iterator[KVRead]:
        """The range as it is now: committed keys merged with this block's writes.

        When the simulation stopped before the end of its range, Fabric records as
        end key the last key the chaincode saw, and the range checked includes it.
        """
        end, include_end = query.end, not query.exhausted and bool(query.end)

        def inside(key: str) -> bool:
            return key >= query.start and (not end or key < end or (include_end and key == end))

        local = sorted((key, update) for (n, key), update in self.updates.items() if n == ns and inside(key))
        committed = (item for item in self.state.range(ns, query.start, end + "\x00" if include_end else end))
        pending = iter(local)
        next_local = next(pending, None)
        for key, value in committed:
            while next_local is not None and next_local[0] < key:
                if next_local[1].value is not None:
                    yield KVRead(next_local[0], next_local[1].version)
                next_local = next(pending, None)
            if next_local is not None and next_local[0] == key:
                if next_local[1].value is not None:
                    yield KVRead(key, next_local[1].version)
                next_local = next(pending, None)
                continue
            yield KVRead(key, value.version)
        while next_local is not None:
            if next_local[1].value is not None:
                yield KVRead(next_local[0], next_local[1].version)
            next_local = next(pending, None)

    def _check_range(self, ns: str, query: RangeQuery) -> None:
        if query.merkle_summary:
            raise _Invalid(Code.PHANTOM_READ_CONFLICT, "range query results summarised as merkle hashes cannot be checked")
        now = self._range(ns, query)
        for recorded in query.reads:
            current = next(now, None)
            if current != recorded:
                raise _Invalid(Code.PHANTOM_READ_CONFLICT,
                               f"range [{query.start!r}, {query.end!r}) of {ns} changed since it was read")
        if next(now, None) is not None:
            raise _Invalid(Code.PHANTOM_READ_CONFLICT,
                           f"range [{query.start!r}, {query.end!r}) of {ns} has new keys since it was read")

    def apply(self, ns: NsRWSet, version: Version, history: History) -> None:
        """Record a valid transaction's writes in the view."""
        apply_rwset(self.updates, history, ns, version, self.state.get)
