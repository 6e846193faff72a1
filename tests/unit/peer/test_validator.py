"""TxValidator: every validation code a peer can give a transaction, provoked one at a time.

A block on channel ch1 (Org1MSP and Org2MSP; Org3MSP is in the network but not in the
channel) goes through `TxValidator.validate` and then `PeerLedger.commit`, as on a peer.
Each test builds real, signed transactions with `tests.support.transactions` and, when
it needs a defect, takes a good envelope apart, spoils exactly one thing and has the
client sign the payload again, so that the defect under test is the only one.

The channel's default endorsement policy is MAJORITY Endorsement over Org1 and Org2:
a transaction needs a peer of each org. A key-level policy (`VALIDATION_PARAMETER`
metadata) replaces it for the keys that carry one. Where a rule is subtle the behaviour
asserted is Fabric 2.5's (the validator promises the codes "as Fabric decides it").
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import (
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.msp.signing import SigningIdentity
from consortia.policy import (
    SignatureRule,
    parse_signature_policy,
    signature_policy_bytes,
)
from consortia.policy.paths import APPLICATION_ENDORSEMENT as DEFAULT_ENDORSEMENT
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import create_signed_envelope
from consortia.protoutil.proposal import (
    UnpackedProposal,
    create_proposal,
    sign_proposal,
    unpack_proposal,
)
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import create_signed_transaction
from peer.committer.validator import EndorsementPolicies, TxValidator, ValidationResult
from peer.ledger.kvledger import PeerLedger
from peer.ledger.pvtdata import key_hash, value_hash
from peer.ledger.rwset import VALIDATION_PARAMETER, Version
from tests.support import testnet
from tests.support.identities import make_org
from tests.support.testnet import TestNetwork
from tests.support.transactions import NsWrites, endorser_transaction, rwset_bytes

pytestmark = pytest.mark.unit

Code = transaction_pb2.TxValidationCode
CHANNEL = "ch1"
CC = "cc"
# A length-delimited field that announces 5 bytes and carries 2: no message decodes it.
GARBAGE = b"\x0a\x05ab"
ORG1_PEER_ONLY = signature_policy_bytes(parse_signature_policy("'Org1MSP.peer'"))
ORG2_PEER_ONLY = signature_policy_bytes(parse_signature_policy("'Org2MSP.peer'"))


# ----- the network, its parties and a peer's chain ------------------------------------


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> TestNetwork:
    """Crypto material and genesis blocks; no node is started."""
    root = tmp_path_factory.mktemp("validator-net")
    with pytest.MonkeyPatch.context() as patch:
        # TestNetwork probes for free ports for the nodes it could start; unit tests
        # open no sockets, and these ports are never used here.
        patch.setattr(testnet, "free_port_block", lambda size: 40000)
        return TestNetwork(root)


@dataclass(frozen=True)
class Parties:
    client: SigningIdentity  # Org1 User1: the usual transaction creator
    client2: SigningIdentity  # Org2 User1
    admin1: SigningIdentity
    peer1: SigningIdentity
    peer2: SigningIdentity
    peer3: SigningIdentity  # Org3 is not a member of ch1
    user3: SigningIdentity
    orderer: SigningIdentity

    @property
    def both_peers(self) -> list[SigningIdentity]:
        return [self.peer1, self.peer2]

    def tx(
        self,
        namespaces: dict[str, NsWrites] | None = None,
        endorsers: Sequence[SigningIdentity] | None = None,
        *,
        client: SigningIdentity | None = None,
        channel: str = CHANNEL,
        chaincode: str = CC,
        results: bytes | None = None,
    ) -> common_pb2.Envelope:
        """A signed transaction of `chaincode`, endorsed by both orgs' peers unless told."""
        return endorser_transaction(
            channel, chaincode, client or self.client,
            self.both_peers if endorsers is None else list(endorsers), namespaces, results=results,
        )

    def write(self, key: str, value: bytes | None = b"v",
              endorsers: Sequence[SigningIdentity] | None = None) -> common_pb2.Envelope:
        """A transaction of `cc` writing (None: deleting) one key."""
        return self.tx({CC: NsWrites(writes={key: value})}, endorsers)


@pytest.fixture(scope="module")
def parties(net: TestNetwork) -> Parties:
    return Parties(
        client=net.identity("Org1MSP", "User1"),
        client2=net.identity("Org2MSP", "User1"),
        admin1=net.identity("Org1MSP", "Admin"),
        peer1=net.identity("Org1MSP", "peer0"),
        peer2=net.identity("Org2MSP", "peer0"),
        peer3=net.identity("Org3MSP", "peer0"),
        user3=net.identity("Org3MSP", "User1"),
        orderer=net.identity("OrdererMSP", "orderer0"),
    )


Item: TypeAlias = "common_pb2.Envelope | bytes"


class Chain:
    """One peer's ledger of ch1 with its validator, the genesis block committed."""

    def __init__(self, folder: Path, genesis: bytes, orderer: SigningIdentity,
                 policies: EndorsementPolicies | None = None) -> None:
        self.orderer = orderer
        self.ledger = PeerLedger(folder)
        block = common_pb2.Block.FromString(genesis)
        self.genesis = common_pb2.Block.FromString(genesis)
        self.validator = TxValidator(ChannelBundle.from_config(config_from_block(block)), self.ledger.state(), policies)
        self.previous = b""
        self.commit_hashes: list[bytes] = []
        self.genesis_result = self.commit(block)

    def block(self, *items: Item) -> common_pb2.Block:
        """The next block over `items`, signed by the orderer (not validated)."""
        raw = [item if isinstance(item, bytes) else item.SerializeToString() for item in items]
        block = blocks.new_block(self.ledger.height, self.previous, raw)
        blocks.sign_block(block, self.orderer, last_config_index=0)
        return block

    def commit(self, block: common_pb2.Block) -> ValidationResult:
        result = self.validator.validate(block)
        self.commit_hashes.append(self.ledger.commit(block, result.codes, result.updates, result.history))
        self.previous = blocks.header_hash(block.header)
        return result

    def add(self, *items: Item) -> ValidationResult:
        """Validate and commit the next block; its validation result."""
        return self.commit(self.block(*items))

    def get(self, key: str, ns: str = CC) -> bytes | None:
        found = self.ledger.state().get(ns, key)
        return None if found is None else found.value

    def key_policy(self, key: str, ns: str = CC) -> bytes | None:
        """The key's VALIDATION_PARAMETER metadata, if it exists and has one."""
        found = self.ledger.state().get(ns, key)
        return None if found is None else found.metadata_entries().get(VALIDATION_PARAMETER)

    def version(self, key: str, ns: str = CC) -> Version | None:
        found = self.ledger.state().get(ns, key)
        return None if found is None else found.version

    def close(self) -> None:
        self.ledger.close()


ChainFactory = Callable[..., Chain]


@pytest.fixture
def make_chain(tmp_path: Path, net: TestNetwork, parties: Parties) -> Iterator[ChainFactory]:
    made: list[Chain] = []

    def make(policies: EndorsementPolicies | None = None) -> Chain:
        chain = Chain(tmp_path / f"ledger{len(made)}", net.genesis(CHANNEL), parties.orderer, policies)
        made.append(chain)
        return chain

    yield make
    for chain in made:
        chain.close()


@pytest.fixture
def chain(make_chain: ChainFactory) -> Chain:
    return make_chain()


def codes(result: ValidationResult) -> list[str]:
    return [Code.Name(c) for c in result.codes]


def assert_code(result: ValidationResult, index: int, code: int, *mentions: str) -> None:
    """Transaction `index` got `code`, and its reason names each of `mentions`."""
    reason = result.txs[index].reason
    assert Code.Name(result.codes[index]) == Code.Name(code), f"tx {index}: {reason}"
    for mention in mentions:
        assert mention in reason, f"tx {index}: {mention!r} not in reason {reason!r}"


# ----- taking envelopes apart ---------------------------------------------------------


def sealed(payload: common_pb2.Payload | bytes, signer: SigningIdentity) -> common_pb2.Envelope:
    """`payload` signed by `signer`, as a client signs a transaction."""
    raw = payload if isinstance(payload, bytes) else payload.SerializeToString()
    return common_pb2.Envelope(payload=raw, signature=signer.sign(raw))


def payload_of(envelope: common_pb2.Envelope) -> common_pb2.Payload:
    return common_pb2.Payload.FromString(envelope.payload)


def with_channel_header(envelope: common_pb2.Envelope, signer: SigningIdentity,
                        change: Callable[[common_pb2.ChannelHeader], None]) -> common_pb2.Envelope:
    payload = payload_of(envelope)
    header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
    change(header)
    payload.header.channel_header = header.SerializeToString()
    return sealed(payload, signer)


def with_signature_header(envelope: common_pb2.Envelope, signer: SigningIdentity,
                          change: Callable[[common_pb2.SignatureHeader], None]) -> common_pb2.Envelope:
    payload = payload_of(envelope)
    header = common_pb2.SignatureHeader.FromString(payload.header.signature_header)
    change(header)
    payload.header.signature_header = header.SerializeToString()
    return sealed(payload, signer)


def with_transaction(envelope: common_pb2.Envelope, signer: SigningIdentity,
                     change: Callable[[transaction_pb2.Transaction], None]) -> common_pb2.Envelope:
    payload = payload_of(envelope)
    transaction = transaction_pb2.Transaction.FromString(payload.data)
    change(transaction)
    payload.data = transaction.SerializeToString()
    return sealed(payload, signer)


def with_action_payload(envelope: common_pb2.Envelope, signer: SigningIdentity,
                        change: Callable[[transaction_pb2.ChaincodeActionPayload], None]) -> common_pb2.Envelope:
    def change_action(transaction: transaction_pb2.Transaction) -> None:
        action_payload = transaction_pb2.ChaincodeActionPayload.FromString(transaction.actions[0].payload)
        change(action_payload)
        transaction.actions[0].payload = action_payload.SerializeToString()

    return with_transaction(envelope, signer, change_action)


def proposal(client: SigningIdentity, chaincode: str = CC) -> UnpackedProposal:
    """A signed proposal of `client`: one transaction id, to be endorsed and submitted."""
    unsigned, _ = create_proposal(CHANNEL, chaincode, [b"invoke"], client.serialize())
    return unpack_proposal(sign_proposal(unsigned, client))


def endorsed(prop: UnpackedProposal, client: SigningIdentity, endorsers: Sequence[SigningIdentity],
             namespaces: dict[str, NsWrites], *, response_chaincode: str | None = None) -> common_pb2.Envelope:
    """The transaction of `prop` with responses of `endorsers` naming `response_chaincode`."""
    responses = [
        create_proposal_response(
            prop, results=rwset_bytes(namespaces), response=proposal_response_pb2.Response(status=200),
            chaincode_id=chaincode_pb2.ChaincodeID(name=response_chaincode or prop.chaincode, version="1.0"),
            endorser=endorser,
        )
        for endorser in endorsers
    ]
    return create_signed_transaction(prop, responses, client)


def raw_rwset(*namespaces: rwset_pb2.NsReadWriteSet, data_model: int = rwset_pb2.TxReadWriteSet.KV) -> bytes:
    return bytes(rwset_pb2.TxReadWriteSet(data_model=data_model, ns_rwset=list(namespaces)).SerializeToString())


def ns_rwset(name: str, ns: NsWrites | None = None, **fields: object) -> rwset_pb2.NsReadWriteSet:
    return rwset_pb2.NsReadWriteSet(namespace=name, rwset=(ns or NsWrites()).to_proto().SerializeToString(),
                                    **fields)


# ----- the genesis block and a valid transaction --------------------------------------


def test_genesis_block_is_all_valid(chain: Chain) -> None:
    result = chain.genesis_result
    assert len(result.codes) == len(chain.genesis.data.data) >= 1
    assert codes(result) == ["VALID"] * len(result.codes)
    assert result.updates == {}
    assert chain.ledger.height == 1


def test_valid_transaction_commits_its_writes_and_history(chain: Chain, parties: Parties) -> None:
    env = parties.tx({CC: NsWrites(writes={"k": b"v1", "j": b"w"})})
    result = chain.add(env)
    assert codes(result) == ["VALID"]
    assert result.txs[0].reason == ""
    assert chain.get("k") == b"v1" and chain.version("k") == Version(1, 0)
    assert chain.ledger.state().history(CC, "k") == [Version(1, 0)]
    tx_id = payload_of(env).header.channel_header
    assert chain.ledger.state().tx_location(common_pb2.ChannelHeader.FromString(tx_id).tx_id) == (1, 0, Code.VALID)


def test_resealed_untouched_transaction_is_still_valid(chain: Chain, parties: Parties) -> None:
    """The surgery helpers add no defect of their own: every later test spoils one thing."""
    env = with_action_payload(parties.write("k"), parties.client, lambda action_payload: None)
    assert codes(chain.add(env)) == ["VALID"]


# ----- NIL_ENVELOPE, BAD_PAYLOAD, BAD_COMMON_HEADER -----------------------------------


def test_nil_envelope_for_empty_bytes(chain: Chain, parties: Parties) -> None:
    result = chain.add(b"", parties.write("after"))
    assert_code(result, 0, Code.NIL_ENVELOPE, "empty envelope")
    assert_code(result, 1, Code.VALID)


def test_nil_envelope_for_undecodable_bytes(chain: Chain) -> None:
    assert_code(chain.add(GARBAGE), 0, Code.NIL_ENVELOPE, "envelope", "Envelope")


def test_bad_payload_for_garbage_payload_bytes(chain: Chain, parties: Parties) -> None:
    assert_code(chain.add(sealed(GARBAGE, parties.client)), 0, Code.BAD_PAYLOAD, "payload")


def test_bad_payload_for_garbage_transaction_data(chain: Chain, parties: Parties) -> None:
    payload = payload_of(parties.write("k"))
    payload.data = GARBAGE
    assert_code(chain.add(sealed(payload, parties.client)), 0, Code.BAD_PAYLOAD, "transaction")
    assert chain.get("k") is None


def test_bad_common_header_when_payload_has_no_header(chain: Chain, parties: Parties) -> None:
    payload = payload_of(parties.write("k"))
    payload.ClearField("header")
    assert_code(chain.add(sealed(payload, parties.client)), 0, Code.BAD_COMMON_HEADER, "no header")


def test_bad_common_header_for_garbage_channel_header(chain: Chain, parties: Parties) -> None:
    payload = payload_of(parties.write("k"))
    payload.header.channel_header = GARBAGE
    assert_code(chain.add(sealed(payload, parties.client)), 0, Code.BAD_COMMON_HEADER, "channel header")


def test_bad_common_header_for_nonzero_epoch(chain: Chain, parties: Parties) -> None:
    env = with_channel_header(parties.write("k"), parties.client, lambda h: setattr(h, "epoch", 1))
    assert_code(chain.add(env), 0, Code.BAD_COMMON_HEADER, "epoch")


def test_bad_common_header_for_empty_nonce(chain: Chain, parties: Parties) -> None:
    env = with_signature_header(parties.write("k"), parties.client, lambda h: setattr(h, "nonce", b""))
    assert_code(chain.add(env), 0, Code.BAD_COMMON_HEADER, "nonce")


def test_bad_common_header_for_empty_creator(chain: Chain, parties: Parties) -> None:
    env = with_signature_header(parties.write("k"), parties.client, lambda h: setattr(h, "creator", b""))
    assert_code(chain.add(env), 0, Code.BAD_COMMON_HEADER, "creator")


# ----- TARGET_CHAIN_NOT_FOUND, UNKNOWN_TX_TYPE ----------------------------------------


def test_target_chain_not_found_for_a_transaction_of_another_channel(chain: Chain, parties: Parties) -> None:
    env = parties.tx({CC: NsWrites(writes={"k": b"v"})}, channel="ch2")
    assert_code(chain.add(env), 0, Code.TARGET_CHAIN_NOT_FOUND, "'ch2'")
    assert chain.get("k") is None


@pytest.mark.parametrize("header_type", [common_pb2.MESSAGE, common_pb2.CONFIG_UPDATE, common_pb2.CONFIG])
def test_unknown_tx_type_for_a_signed_envelope_of_another_type(chain: Chain, parties: Parties,
                                                               header_type: int) -> None:
    env = create_signed_envelope(header_type, CHANNEL, parties.client, b"data", with_tx_id=True)
    assert_code(chain.add(env), 0, Code.UNKNOWN_TX_TYPE, f"header type {header_type}", "not an endorser transaction")


# ----- BAD_CREATOR_SIGNATURE ----------------------------------------------------------


def test_bad_creator_signature_when_signed_by_another_key(chain: Chain, parties: Parties) -> None:
    env = parties.write("k")
    forged = common_pb2.Envelope(payload=env.payload, signature=parties.client2.sign(env.payload))
    assert_code(chain.add(forged), 0, Code.BAD_CREATOR_SIGNATURE, "creator", "signature does not verify")
    assert chain.get("k") is None


def test_bad_creator_signature_when_signature_covers_other_bytes(chain: Chain, parties: Parties) -> None:
    env = parties.write("k")
    other = common_pb2.Envelope(payload=env.payload, signature=parties.client.sign(env.payload + b"x"))
    assert_code(chain.add(other), 0, Code.BAD_CREATOR_SIGNATURE, "signature")


def test_bad_creator_signature_for_a_creator_of_an_org_outside_the_channel(chain: Chain, parties: Parties) -> None:
    env = parties.tx({CC: NsWrites(writes={"k": b"v"})}, client=parties.user3)
    assert_code(chain.add(env), 0, Code.BAD_CREATOR_SIGNATURE, "Org3MSP")
    assert chain.get("k") is None


def test_bad_creator_signature_for_a_creator_certificate_from_a_foreign_ca(chain: Chain, parties: Parties) -> None:
    """Same MSP id as Org1, but issued by a CA that Org1's MSP does not trust."""
    impostor = make_org("Org1MSP").identity("client", "User1@org1.example.com")
    env = parties.tx({CC: NsWrites(writes={"k": b"v"})}, client=impostor)
    assert_code(chain.add(env), 0, Code.BAD_CREATOR_SIGNATURE, "creator", "not issued by a CA of Org1MSP")
    assert chain.get("k") is None


@pytest.mark.parametrize("who", ["peer", "orderer"])
def test_bad_creator_signature_for_a_creator_that_is_not_a_writer(chain: Chain, parties: Parties, who: str) -> None:
    """/Channel/Application/Writers is OR(admin, client) per org: a node is no writer."""
    creator = parties.peer1 if who == "peer" else parties.orderer
    env = parties.tx({CC: NsWrites(writes={"k": b"v"})}, client=creator)
    assert_code(chain.add(env), 0, Code.BAD_CREATOR_SIGNATURE, "/Channel/Application/Writers")
    assert chain.get("k") is None


@pytest.mark.parametrize("who", ["admin1", "client2"])
def test_admins_and_clients_of_member_orgs_are_writers(chain: Chain, parties: Parties, who: str) -> None:
    env = parties.tx({CC: NsWrites(writes={"k": b"v"})}, client=getattr(parties, who))
    assert codes(chain.add(env)) == ["VALID"]


# ----- BAD_PROPOSAL_TXID, BAD_HEADER_EXTENSION ----------------------------------------


def test_bad_proposal_txid_when_the_id_is_not_the_hash_of_nonce_and_creator(chain: Chain, parties: Parties) -> None:
    env = with_channel_header(parties.write("k"), parties.client, lambda h: setattr(h, "tx_id", "ab" * 32))
    result = chain.add(env)
    assert_code(result, 0, Code.BAD_PROPOSAL_TXID, "sha256(nonce")


def test_bad_header_extension_for_garbage_extension(chain: Chain, parties: Parties) -> None:
    env = with_channel_header(parties.write("k"), parties.client, lambda h: setattr(h, "extension", GARBAGE))
    assert_code(chain.add(env), 0, Code.BAD_HEADER_EXTENSION, "header extension")


def test_bad_header_extension_that_names_no_chaincode(chain: Chain, parties: Parties) -> None:
    empty = proposal_pb2.ChaincodeHeaderExtension().SerializeToString()
    env = with_channel_header(parties.write("k"), parties.client, lambda h: setattr(h, "extension", empty))
    assert_code(chain.add(env), 0, Code.BAD_HEADER_EXTENSION, "names no chaincode")


# ----- INVALID_ENDORSER_TRANSACTION ---------------------------------------------------


def test_invalid_endorser_transaction_with_two_actions(chain: Chain, parties: Parties) -> None:
    env = with_transaction(parties.write("k"), parties.client, lambda t: t.actions.append(t.actions[0]))
    assert_code(chain.add(env), 0, Code.INVALID_ENDORSER_TRANSACTION, "exactly one action, found 2")
    assert chain.get("k") is None


def test_invalid_endorser_transaction_with_no_action(chain: Chain, parties: Parties) -> None:
    env = with_transaction(parties.write("k"), parties.client, lambda t: t.ClearField("actions"))
    assert_code(chain.add(env), 0, Code.INVALID_ENDORSER_TRANSACTION, "found 0")


def test_invalid_endorser_transaction_when_the_proposal_payload_was_altered(chain: Chain, parties: Parties) -> None:
    """The endorsers signed a response to another invocation than the one in the transaction."""
    other = proposal_pb2.ChaincodeProposalPayload(input=b"transfer everything").SerializeToString()
    env = with_action_payload(parties.write("k"), parties.client,
                              lambda ap: setattr(ap, "chaincode_proposal_payload", other))
    assert_code(chain.add(env), 0, Code.INVALID_ENDORSER_TRANSACTION, "proposal hash")
    assert chain.get("k") is None


def test_invalid_endorser_transaction_when_the_action_header_is_of_another_client(chain: Chain,
                                                                                   parties: Parties) -> None:
    """The proposal hash covers the action's signature header: it cannot be swapped."""
    foreign = payload_of(parties.tx(client=parties.client2)).header.signature_header
    env = with_transaction(parties.write("k"), parties.client, lambda t: setattr(t.actions[0], "header", foreign))
    assert_code(chain.add(env), 0, Code.INVALID_ENDORSER_TRANSACTION, "proposal hash")


def test_invalid_endorser_transaction_for_an_action_header_without_creator(chain: Chain, parties: Parties) -> None:
    header = common_pb2.SignatureHeader(nonce=b"n").SerializeToString()
    env = with_transaction(parties.write("k"), parties.client, lambda t: setattr(t.actions[0], "header", header))
    assert_code(chain.add(env), 0, Code.INVALID_ENDORSER_TRANSACTION, "action header")


# ----- BAD_RESPONSE_PAYLOAD, INVALID_CHAINCODE ----------------------------------------


def test_bad_response_payload_for_garbage_proposal_response_payload(chain: Chain, parties: Parties) -> None:
    env = with_action_payload(parties.write("k"), parties.client,
                              lambda ap: setattr(ap.action, "proposal_response_payload", GARBAGE))
    assert_code(chain.add(env), 0, Code.BAD_RESPONSE_PAYLOAD, "proposal response payload")


def test_bad_response_payload_for_garbage_chaincode_action(chain: Chain, parties: Parties) -> None:
    def spoil(ap: transaction_pb2.ChaincodeActionPayload) -> None:
        prp = proposal_response_pb2.ProposalResponsePayload.FromString(ap.action.proposal_response_payload)
        prp.extension = GARBAGE
        ap.action.proposal_response_payload = prp.SerializeToString()

    env = with_action_payload(parties.write("k"), parties.client, spoil)
    assert_code(chain.add(env), 0, Code.BAD_RESPONSE_PAYLOAD, "chaincode action")


def test_invalid_chaincode_when_the_response_names_another_chaincode(chain: Chain, parties: Parties) -> None:
    prop = proposal(parties.client, CC)
    env = endorsed(prop, parties.client, parties.both_peers, {CC: NsWrites(writes={"k": b"v"})},
                   response_chaincode="other")
    assert_code(chain.add(env), 0, Code.INVALID_CHAINCODE, "'cc'", "'other'")
    assert chain.get("k") is None


# ----- BAD_RWSET, ILLEGAL_WRITESET, INVALID_WRITESET ----------------------------------


def test_bad_rwset_for_garbage_results(chain: Chain, parties: Parties) -> None:
    assert_code(chain.add(parties.tx(results=GARBAGE)), 0, Code.BAD_RWSET, "read-write set")


def test_bad_rwset_for_garbage_namespace_rwset(chain: Chain, parties: Parties) -> None:
    results = raw_rwset(rwset_pb2.NsReadWriteSet(namespace=CC, rwset=GARBAGE))
    assert_code(chain.add(parties.tx(results=results)), 0, Code.BAD_RWSET, "read-write set of cc")


def test_bad_rwset_for_a_data_model_other_than_kv(chain: Chain, parties: Parties) -> None:
    results = raw_rwset(ns_rwset(CC, NsWrites(writes={"k": b"v"})), data_model=1)
    assert_code(chain.add(parties.tx(results=results)), 0, Code.BAD_RWSET, "data model")
    assert chain.get("k") is None


def test_bad_rwset_for_a_namespace_listed_twice(chain: Chain, parties: Parties) -> None:
    """(Fabric 2.5's plugin dispatcher answers ILLEGAL_WRITESET here instead.)"""
    results = raw_rwset(ns_rwset(CC, NsWrites(writes={"k": b"v"})), ns_rwset(CC, NsWrites(writes={"j": b"v"})))
    assert_code(chain.add(parties.tx(results=results)), 0, Code.BAD_RWSET, "twice")


def test_bad_rwset_for_a_namespace_without_a_name(chain: Chain, parties: Parties) -> None:
    results = raw_rwset(ns_rwset(CC), ns_rwset("", NsWrites(writes={"k": b"v"})))
    assert_code(chain.add(parties.tx(results=results)), 0, Code.BAD_RWSET, "no name")


def test_illegal_writeset_for_writes_to_lifecycle_from_a_chaincode(chain: Chain, parties: Parties) -> None:
    env = parties.tx({CC: NsWrites(writes={"k": b"v"}),
                      "_lifecycle": NsWrites(writes={"namespaces/fields/cc/Sequence": b"\x08\x09"})})
    assert_code(chain.add(env), 0, Code.ILLEGAL_WRITESET, "_lifecycle", "cc")
    assert chain.get("namespaces/fields/cc/Sequence", "_lifecycle") is None
    assert chain.get("k") is None


def test_illegal_writeset_for_a_metadata_write_to_lifecycle(chain: Chain, parties: Parties) -> None:
    env = parties.tx({CC: NsWrites(), "_lifecycle": NsWrites(metadata={"x": {VALIDATION_PARAMETER: ORG1_PEER_ONLY}})})
    assert_code(chain.add(env), 0, Code.ILLEGAL_WRITESET, "_lifecycle")


def test_reading_lifecycle_is_allowed(chain: Chain, parties: Parties) -> None:
    """Every invocation reads its definition's Sequence key in `_lifecycle` (Fabric does)."""
    env = parties.tx({CC: NsWrites(writes={"k": b"v"}),
                      "_lifecycle": NsWrites(reads={"namespaces/fields/cc/Sequence": None})})
    assert codes(chain.add(env)) == ["VALID"]


def lifecycle_approval(collection: str) -> bytes:
    """`_lifecycle` results that write one key of `collection` (as an approval does: only
    hashes reach the block)."""
    hashed = kv_rwset_pb2.HashedRWSet(hashed_writes=[kv_rwset_pb2.KVWriteHash(
        key_hash=key_hash("approvals/cc/1/version"), value_hash=value_hash(b"version=1.0"))])
    written = rwset_pb2.CollectionHashedReadWriteSet(collection_name=collection, pvt_rwset_hash=b"\x01" * 32,
                                                     hashed_rwset=hashed.SerializeToString())
    return raw_rwset(ns_rwset("_lifecycle", collection_hashed_rwset=[written]))


def test_an_org_approves_through_its_implicit_collection_of_lifecycle(chain: Chain, parties: Parties) -> None:
    """An approval needs no other org's endorsement: its own peer's is enough."""
    env = parties.tx(results=lifecycle_approval("_implicit_org_Org1MSP"), chaincode="_lifecycle",
                     endorsers=[parties.peer1])
    assert codes(chain.add(env)) == ["VALID"]


def test_no_other_org_can_approve_in_an_orgs_name(chain: Chain, parties: Parties) -> None:
    """Only an org's own peers may write its approval (its implicit collection of `_lifecycle`)."""
    env = parties.tx(results=lifecycle_approval("_implicit_org_Org1MSP"), chaincode="_lifecycle",
                     endorsers=[parties.peer2])
    assert_code(chain.add(env), 0, Code.ENDORSEMENT_POLICY_FAILURE, "collection _implicit_org_Org1MSP of _lifecycle")
    admin_signed = parties.tx(results=lifecycle_approval("_implicit_org_Org1MSP"), chaincode="_lifecycle",
                              endorsers=[parties.admin1])  # Org1, but not a peer
    assert_code(chain.add(admin_signed), 0, Code.ENDORSEMENT_POLICY_FAILURE)


def test_illegal_writeset_for_a_chaincode_writing_lifecycle_private_data(chain: Chain, parties: Parties) -> None:
    env = parties.tx(results=lifecycle_approval("_implicit_org_Org1MSP"), endorsers=[parties.peer1])
    assert_code(chain.add(env), 0, Code.ILLEGAL_WRITESET, "writes to system namespace _lifecycle")


def test_a_collection_the_chaincode_does_not_define_fails_endorsement_policy(chain: Chain, parties: Parties) -> None:
    """Private data itself is tested in test_private_data; here only that an unknown
    collection invalidates the transaction and nothing of it is applied."""
    collection = rwset_pb2.CollectionHashedReadWriteSet(collection_name="secrets", hashed_rwset=b"")
    results = raw_rwset(ns_rwset(CC, NsWrites(writes={"k": b"v"}), collection_hashed_rwset=[collection]))
    assert_code(chain.add(parties.tx(results=results)), 0, Code.ENDORSEMENT_POLICY_FAILURE,
                "collection secrets is not defined for chaincode cc")
    assert chain.get("k") is None


# ----- DUPLICATE_TXID -----------------------------------------------------------------


def test_duplicate_txid_for_the_same_envelope_twice_in_a_block(chain: Chain, parties: Parties) -> None:
    env = parties.tx({CC: NsWrites(reads={"k": None}, writes={"k": b"v"})})
    result = chain.add(env, env)
    assert_code(result, 0, Code.VALID)
    assert_code(result, 1, Code.DUPLICATE_TXID, "already used")
    assert chain.ledger.state().history(CC, "k") == [Version(1, 0)]


def test_duplicate_txid_for_a_transaction_already_in_an_earlier_block(chain: Chain, parties: Parties) -> None:
    env = parties.write("k", b"first")
    assert codes(chain.add(env)) == ["VALID"]
    result = chain.add(parties.write("other"), env)
    assert codes(result) == ["VALID", "DUPLICATE_TXID"]
    assert chain.version("k") == Version(1, 0)
    assert chain.ledger.state().history(CC, "k") == [Version(1, 0)]


def test_duplicate_txid_of_a_transaction_that_was_invalid_in_an_earlier_block(chain: Chain, parties: Parties) -> None:
    """Resubmitting a proposal with more endorsements is too late once its id is in a block
    (Fabric's block index keeps the ids of invalid transactions too)."""
    prop = proposal(parties.client)
    writes = {CC: NsWrites(writes={"k": b"v"})}
    assert codes(chain.add(endorsed(prop, parties.client, [parties.peer1], writes))) == ["ENDORSEMENT_POLICY_FAILURE"]
    result = chain.add(endorsed(prop, parties.client, parties.both_peers, writes))
    assert_code(result, 0, Code.DUPLICATE_TXID)
    assert chain.get("k") is None


def test_a_forged_id_earlier_in_the_block_does_not_make_the_real_transaction_a_duplicate(
    chain: Chain, parties: Parties
) -> None:
    """Only an id that is sha256(nonce ‖ creator) of a validly signed header is claimed."""
    real = parties.write("k")
    real_id = common_pb2.ChannelHeader.FromString(payload_of(real).header.channel_header).tx_id
    forged = with_channel_header(parties.write("x"), parties.client, lambda h: setattr(h, "tx_id", real_id))
    result = chain.add(forged, real)
    assert codes(result) == ["BAD_PROPOSAL_TXID", "VALID"]
    assert chain.get("k") == b"v"


def test_duplicate_txid_is_not_claimed_by_an_earlier_transaction_that_fails_endorsement(
    chain: Chain, parties: Parties
) -> None:
    prop = proposal(parties.client)
    writes = {CC: NsWrites(writes={"k": b"v"})}
    once = endorsed(prop, parties.client, [parties.peer1], writes)
    twice = endorsed(prop, parties.client, parties.both_peers, writes)
    result = chain.add(once, twice)
    assert codes(result) == ["ENDORSEMENT_POLICY_FAILURE", "VALID"]


# ----- ENDORSEMENT_POLICY_FAILURE ------------------------------------------------------


@pytest.mark.parametrize("endorser", ["peer1", "peer2"])
def test_endorsement_policy_failure_with_one_org_endorsing(chain: Chain, parties: Parties, endorser: str) -> None:
    result = chain.add(parties.write("k", endorsers=[getattr(parties, endorser)]))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, DEFAULT_ENDORSEMENT, "1 valid endorsement")
    assert chain.get("k") is None


def test_endorsement_policy_failure_without_endorsements(chain: Chain, parties: Parties) -> None:
    result = chain.add(parties.write("k", endorsers=[]))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, "0 valid endorsement")


def test_an_endorsement_with_a_bad_signature_does_not_count(chain: Chain, parties: Parties) -> None:
    def spoil(ap: transaction_pb2.ChaincodeActionPayload) -> None:
        ap.action.endorsements[1].signature = parties.peer2.sign(b"something else")

    env = with_action_payload(parties.write("k"), parties.client, spoil)
    assert_code(chain.add(env), 0, Code.ENDORSEMENT_POLICY_FAILURE, "1 valid endorsement")
    assert chain.get("k") is None


def test_a_good_pair_plus_one_bad_endorsement_still_passes(chain: Chain, parties: Parties) -> None:
    def add_bad(ap: transaction_pb2.ChaincodeActionPayload) -> None:
        ap.action.endorsements.append(proposal_response_pb2.Endorsement(
            endorser=parties.admin1.serialize(), signature=parties.admin1.sign(b"something else")))

    env = with_action_payload(parties.write("k"), parties.client, add_bad)
    assert codes(chain.add(env)) == ["VALID"]
    assert chain.get("k") == b"v"


def test_endorsements_by_clients_do_not_satisfy_peer_principals(chain: Chain, parties: Parties) -> None:
    result = chain.add(parties.write("k", endorsers=[parties.client, parties.client2]))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, "2 valid endorsement")


def test_an_endorsement_by_a_peer_outside_the_channel_does_not_count(chain: Chain, parties: Parties) -> None:
    result = chain.add(parties.write("k", endorsers=[parties.peer1, parties.peer3]))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, "1 valid endorsement")


def test_an_endorsement_by_a_peer_from_a_foreign_ca_does_not_count(chain: Chain, parties: Parties) -> None:
    impostor = make_org("Org2MSP").identity("peer", "peer0.org2.example.com")
    result = chain.add(parties.write("k", endorsers=[parties.peer1, impostor]))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, "1 valid endorsement")


def test_a_read_only_transaction_still_needs_its_chaincodes_policy(chain: Chain, parties: Parties) -> None:
    chain.add(parties.write("k"))
    reads = {CC: NsWrites(reads={"k": (1, 0)})}
    result = chain.add(parties.tx(reads, [parties.peer1]), parties.tx(reads))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, "endorsement policy of cc")
    assert_code(result, 1, Code.VALID)


def test_a_transaction_with_an_empty_rwset_still_needs_its_chaincodes_policy(chain: Chain, parties: Parties) -> None:
    result = chain.add(parties.tx(results=b"", endorsers=[parties.peer2]))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, "endorsement policy of cc")


@dataclass
class PoliciesByNamespace:
    """Chaincode endorsement policies, as chaincode definitions will provide them."""

    rules: dict[str, SignatureRule | str]

    def policy_for(self, namespace: str) -> SignatureRule | str:
        return self.rules.get(namespace, DEFAULT_ENDORSEMENT)


def test_writes_into_a_second_namespace_need_that_namespaces_policy(make_chain: ChainFactory,
                                                                    parties: Parties) -> None:
    chain = make_chain(PoliciesByNamespace({CC: parse_signature_policy("'Org1MSP.peer'")}))
    alone = chain.add(parties.tx({CC: NsWrites(writes={"k": b"v"})}, [parties.peer1]))
    assert codes(alone) == ["VALID"]
    result = chain.add(parties.tx({CC: NsWrites(writes={"k": b"w"}), "other": NsWrites(writes={"o": b"v"})},
                                  [parties.peer1]))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, "endorsement policy of other")
    assert chain.get("k") == b"v" and chain.get("o", "other") is None
    both = chain.add(parties.tx({CC: NsWrites(writes={"k": b"w"}), "other": NsWrites(writes={"o": b"v"})}))
    assert codes(both) == ["VALID"]
    assert chain.get("o", "other") == b"v"


def test_reads_of_a_second_namespace_need_no_policy_of_it(make_chain: ChainFactory, parties: Parties) -> None:
    chain = make_chain(PoliciesByNamespace({CC: parse_signature_policy("'Org1MSP.peer'"),
                                            "other": parse_signature_policy("'Org3MSP.peer'")}))
    env = parties.tx({CC: NsWrites(writes={"k": b"v"}), "other": NsWrites(reads={"o": None})}, [parties.peer1])
    assert codes(chain.add(env)) == ["VALID"]


def test_the_invoked_chaincodes_policy_applies_even_when_it_writes_only_elsewhere(make_chain: ChainFactory,
                                                                                 parties: Parties) -> None:
    chain = make_chain(PoliciesByNamespace({CC: parse_signature_policy("'Org3MSP.peer'"),
                                            "other": parse_signature_policy("'Org1MSP.peer'")}))
    env = parties.tx({"other": NsWrites(writes={"o": b"v"})}, [parties.peer1])
    assert_code(chain.add(env), 0, Code.ENDORSEMENT_POLICY_FAILURE, "endorsement policy of cc")


# ----- state-based (key-level) endorsement --------------------------------------------


def with_key_policy(chain: Chain, parties: Parties, key: str = "k", policy: bytes = ORG1_PEER_ONLY) -> None:
    """Block 1: `key` created with a key-level policy (endorsed under the chaincode policy)."""
    result = chain.add(parties.tx({CC: NsWrites(writes={key: b"v0"}, metadata={key: {VALIDATION_PARAMETER: policy}})}))
    assert codes(result) == ["VALID"]
    assert chain.key_policy(key) == policy


def test_a_key_level_policy_lets_its_org_alone_write_the_key(chain: Chain, parties: Parties) -> None:
    with_key_policy(chain, parties)
    assert codes(chain.add(parties.write("k", b"v1", [parties.peer1]))) == ["VALID"]
    assert chain.get("k") == b"v1"
    # A value write keeps the key's policy.
    assert chain.key_policy("k") == ORG1_PEER_ONLY
    # Keys without a policy still need the chaincode's.
    assert_code(chain.add(parties.write("plain", b"v", [parties.peer1])), 0, Code.ENDORSEMENT_POLICY_FAILURE)


def test_a_key_level_policy_refuses_another_org(chain: Chain, parties: Parties) -> None:
    with_key_policy(chain, parties)
    result = chain.add(parties.write("k", b"v1", [parties.peer2]))
    assert_code(result, 0, Code.ENDORSEMENT_POLICY_FAILURE, "key-level policy", "'k'")
    assert chain.get("k") == b"v0"


def test_a_key_level_policy_also_governs_deleting_the_key(chain: Chain, parties: Parties) -> None:
    with_key_policy(chain, parties)
    assert_code(chain.add(parties.write("k", None, [parties.peer2])), 0, Code.ENDORSEMENT_POLICY_FAILURE, "'k'")
    assert codes(chain.add(parties.write("k", None, [parties.peer1]))) == ["VALID"]
    assert chain.get("k") is None


def test_a_key_level_policy_also_governs_changing_the_policy(chain: Chain, parties: Parties) -> None:
    with_key_policy(chain, parties)
    takeover = {CC: NsWrites(metadata={"k": {VALIDATION_PARAMETER: ORG2_PEER_ONLY}})}
    assert_code(chain.add(parties.tx(takeover, [parties.peer2])), 0, Code.ENDORSEMENT_POLICY_FAILURE, "'k'")
    assert codes(chain.add(parties.tx(takeover, [parties.peer1]))) == ["VALID"]
    assert chain.key_policy("k") == ORG2_PEER_ONLY
    assert codes(chain.add(parties.write("k", b"v2", [parties.peer2]))) == ["VALID"]


def test_a_write_of_a_key_with_and_a_key_without_policy_needs_both_policies(chain: Chain, parties: Parties) -> None:
    with_key_policy(chain, parties)
    env = parties.tx({CC: NsWrites(writes={"k": b"v1", "plain": b"v"})}, [parties.peer1])
    assert_code(chain.add(env), 0, Code.ENDORSEMENT_POLICY_FAILURE, "endorsement policy of cc")


def test_a_key_level_policy_changed_earlier_in_the_block_fails_a_later_write(chain: Chain, parties: Parties) -> None:
    with_key_policy(chain, parties)
    change = parties.tx({CC: NsWrites(metadata={"k": {VALIDATION_PARAMETER: ORG1_PEER_ONLY}})}, [parties.peer1])
    later = parties.write("k", b"v1", parties.both_peers)
    result = chain.add(change, later)
    assert_code(result, 0, Code.VALID)
    assert_code(result, 1, Code.ENDORSEMENT_POLICY_FAILURE, "changed earlier in this block", "'k'")
    assert chain.get("k") == b"v0"


@pytest.mark.parametrize("how", ["endorsement", "signature"])
def test_a_key_level_policy_change_by_an_invalid_transaction_is_no_conflict(chain: Chain, parties: Parties,
                                                                            how: str) -> None:
    with_key_policy(chain, parties)
    metadata = {CC: NsWrites(metadata={"k": {VALIDATION_PARAMETER: ORG2_PEER_ONLY}})}
    if how == "endorsement":
        change, failure = parties.tx(metadata, [parties.peer2]), Code.ENDORSEMENT_POLICY_FAILURE  # wants Org1's peer
    else:
        good = parties.tx(metadata, [parties.peer1])
        change = common_pb2.Envelope(payload=good.payload, signature=parties.client2.sign(good.payload))
        failure = Code.BAD_CREATOR_SIGNATURE
    later = parties.write("k", b"v1", [parties.peer1])
    result = chain.add(change, later)
    assert_code(result, 0, failure)
    assert_code(result, 1, Code.VALID)
    assert chain.get("k") == b"v1"
    assert chain.key_policy("k") == ORG1_PEER_ONLY


def test_an_unreadable_key_level_policy_fails_every_write_of_the_key(chain: Chain, parties: Parties) -> None:
    with_key_policy(chain, parties, policy=b"not a policy")
    assert_code(chain.add(parties.write("k", b"v1")), 0, Code.ENDORSEMENT_POLICY_FAILURE, "unreadable policy")
    assert chain.get("k") == b"v0"


def test_a_key_deleted_and_recreated_in_one_block_loses_its_key_level_policy(chain: Chain, parties: Parties) -> None:
    with_key_policy(chain, parties)
    result = chain.add(parties.write("k", None, [parties.peer1]), parties.write("k", b"new"))
    assert codes(result) == ["VALID", "VALID"]
    assert chain.get("k") == b"new"
    assert chain.key_policy("k") is None
    assert_code(chain.add(parties.write("k", b"v2", [parties.peer1])), 0, Code.ENDORSEMENT_POLICY_FAILURE)


# ----- MVCC_READ_CONFLICT -------------------------------------------------------------


def test_reads_at_the_committed_version_are_valid(chain: Chain, parties: Parties) -> None:
    chain.add(parties.write("k"))
    env = parties.tx({CC: NsWrites(reads={"k": (1, 0), "absent": None}, writes={"k": b"v2"})})
    assert codes(chain.add(env)) == ["VALID"]
    assert chain.version("k") == Version(2, 0)


def test_mvcc_read_conflict_for_a_stale_version(chain: Chain, parties: Parties) -> None:
    chain.add(parties.write("k", b"v1"))
    chain.add(parties.write("k", b"v2"))
    result = chain.add(parties.tx({CC: NsWrites(reads={"k": (1, 0)}, writes={"k": b"v3", "j": b"x"})}))
    assert_code(result, 0, Code.MVCC_READ_CONFLICT, "'k'")
    assert chain.get("k") == b"v2" and chain.get("j") is None


def test_mvcc_read_conflict_for_a_key_written_earlier_in_the_block(chain: Chain, parties: Parties) -> None:
    chain.add(parties.write("k", b"v1"))
    reader = parties.tx({CC: NsWrites(reads={"k": (1, 0)}, writes={"j": b"x"})})
    result = chain.add(parties.write("k", b"v2"), reader)
    assert codes(result) == ["VALID", "MVCC_READ_CONFLICT"]
    assert "'k'" in result.txs[1].reason
    assert chain.get("j") is None and chain.get("k") == b"v2"


def test_a_write_by_an_invalid_transaction_earlier_in_the_block_is_no_conflict(chain: Chain,
                                                                               parties: Parties) -> None:
    chain.add(parties.write("k", b"v1"))
    reader = parties.tx({CC: NsWrites(reads={"k": (1, 0)}, writes={"j": b"x"})})
    result = chain.add(parties.write("k", b"v2", [parties.peer1]), reader)
    assert codes(result) == ["ENDORSEMENT_POLICY_FAILURE", "VALID"]
    assert chain.get("k") == b"v1" and chain.get("j") == b"x"


@pytest.mark.parametrize("deleted_in", ["an earlier block", "the same block"])
def test_mvcc_read_conflict_for_a_deleted_key_read_at_a_version(chain: Chain, parties: Parties,
                                                                deleted_in: str) -> None:
    chain.add(parties.write("k", b"v1"))
    reader = parties.tx({CC: NsWrites(reads={"k": (1, 0)}, writes={"j": b"x"})})
    if deleted_in == "an earlier block":
        chain.add(parties.write("k", None))
        result = chain.add(reader)
    else:
        result = chain.add(parties.write("k", None), reader)
    assert_code(result, len(result.codes) - 1, Code.MVCC_READ_CONFLICT, "'k'")
    assert chain.get("j") is None


def test_mvcc_read_conflict_for_reading_nothing_of_a_key_that_exists(chain: Chain, parties: Parties) -> None:
    chain.add(parties.write("k", b"v1"))
    result = chain.add(parties.tx({CC: NsWrites(reads={"k": None}, writes={"k": b"mine"})}))
    assert_code(result, 0, Code.MVCC_READ_CONFLICT, "'k'")
    assert chain.get("k") == b"v1"


def test_mvcc_read_conflict_for_reading_nothing_of_a_key_created_earlier_in_the_block(chain: Chain,
                                                                                      parties: Parties) -> None:
    create = parties.tx({CC: NsWrites(reads={"k": None}, writes={"k": b"first"})})
    again = parties.tx({CC: NsWrites(reads={"k": None}, writes={"k": b"second"})})
    result = chain.add(create, again)
    assert codes(result) == ["VALID", "MVCC_READ_CONFLICT"]
    assert chain.get("k") == b"first"


def test_mvcc_reads_of_other_namespaces_are_checked_too(chain: Chain, parties: Parties) -> None:
    chain.add(parties.tx({"other": NsWrites(writes={"o": b"v"})}))
    result = chain.add(parties.tx({CC: NsWrites(writes={"k": b"v"}), "other": NsWrites(reads={"o": None})}))
    assert_code(result, 0, Code.MVCC_READ_CONFLICT, "'o'", "other")


def test_a_metadata_update_changes_the_version_reads_see(chain: Chain, parties: Parties) -> None:
    chain.add(parties.write("k"))
    change = parties.tx({CC: NsWrites(metadata={"k": {VALIDATION_PARAMETER: ORG1_PEER_ONLY}})})
    reader = parties.tx({CC: NsWrites(reads={"k": (1, 0)}, writes={"j": b"x"})})
    result = chain.add(change, reader)
    assert codes(result) == ["VALID", "MVCC_READ_CONFLICT"]
    assert chain.version("k") == Version(2, 0)


@pytest.mark.parametrize("existed", [False, True])
def test_mvcc_read_conflict_for_reading_nothing_of_a_key_deleted_earlier_in_the_block(
    chain: Chain, parties: Parties, existed: bool
) -> None:
    """As Fabric (validateKVRead: `updates.Exists(ns, key)`): any read of a key that a valid
    transaction earlier in the block wrote *or deleted* conflicts, even a read that found
    nothing of a key that is still absent."""
    if existed:
        chain.add(parties.write("k", b"v1"))
    reader = parties.tx({CC: NsWrites(reads={"k": None}, writes={"j": b"x"})})
    result = chain.add(parties.write("k", None), reader)
    assert codes(result) == ["VALID", "MVCC_READ_CONFLICT"]
    assert "'k'" in result.txs[1].reason
    assert chain.get("j") is None


# ----- PHANTOM_READ_CONFLICT ----------------------------------------------------------


def with_range(chain: Chain, parties: Parties) -> None:
    """Block 1: r1, r2, r3 at (1, 0); `s` lies after the range [r, s)."""
    result = chain.add(parties.tx({CC: NsWrites(writes={"r1": b"1", "r2": b"2", "r3": b"3", "s": b"x"})}))
    assert codes(result) == ["VALID"]


def scan(start: str, end: str, exhausted: bool, *found: tuple[str, tuple[int, int]],
         write: str = "out") -> dict[str, NsWrites]:
    return {CC: NsWrites(ranges=[(start, end, exhausted, list(found))], writes={write: b"x"})}


FULL_RANGE = (("r1", (1, 0)), ("r2", (1, 0)), ("r3", (1, 0)))


def test_an_unchanged_range_is_valid(chain: Chain, parties: Parties) -> None:
    with_range(chain, parties)
    assert codes(chain.add(parties.tx(scan("r", "s", True, *FULL_RANGE)))) == ["VALID"]
    assert chain.get("out") == b"x"


def test_phantom_read_conflict_for_a_key_inserted_earlier_in_the_block(chain: Chain, parties: Parties) -> None:
    with_range(chain, parties)
    result = chain.add(parties.write("r25"), parties.tx(scan("r", "s", True, *FULL_RANGE)))
    assert_code(result, 0, Code.VALID)
    assert_code(result, 1, Code.PHANTOM_READ_CONFLICT, "'r'", "'s'")
    assert chain.get("out") is None


def test_phantom_read_conflict_for_a_key_appended_to_the_range(chain: Chain, parties: Parties) -> None:
    with_range(chain, parties)
    result = chain.add(parties.write("r9"), parties.tx(scan("r", "s", True, *FULL_RANGE)))
    assert_code(result, 1, Code.PHANTOM_READ_CONFLICT, "new keys")


def test_deletes_earlier_in_the_block_leave_the_range_as_it_now_stands(chain: Chain, parties: Parties) -> None:
    with_range(chain, parties)
    deletes = parties.tx({CC: NsWrites(writes={"r25": None, "r9": None})})
    result = chain.add(deletes, parties.tx(scan("r", "s", True, *FULL_RANGE)))
    assert codes(result) == ["VALID", "VALID"]
    # The range as it now stands: a key deleted earlier in the block is gone from it.
    without_r3 = parties.tx(scan("r", "s", True, ("r1", (1, 0)), ("r2", (1, 0)), write="out2"))
    result = chain.add(parties.write("r3", None), without_r3)
    assert codes(result) == ["VALID", "VALID"]


def test_a_write_outside_the_range_is_no_phantom(chain: Chain, parties: Parties) -> None:
    with_range(chain, parties)
    result = chain.add(parties.write("s"), parties.write("q"), parties.tx(scan("r", "s", True, *FULL_RANGE)))
    assert codes(result) == ["VALID", "VALID", "VALID"]


@pytest.mark.parametrize("deleted_in", ["an earlier block", "the same block"])
def test_phantom_read_conflict_for_a_deleted_key(chain: Chain, parties: Parties, deleted_in: str) -> None:
    with_range(chain, parties)
    reader = parties.tx(scan("r", "s", True, *FULL_RANGE))
    if deleted_in == "an earlier block":
        chain.add(parties.write("r2", None))
        result = chain.add(reader)
    else:
        result = chain.add(parties.write("r2", None), reader)
    assert_code(result, len(result.codes) - 1, Code.PHANTOM_READ_CONFLICT, "changed")
    assert chain.get("out") is None


@pytest.mark.parametrize("changed_in", ["an earlier block", "the same block"])
def test_phantom_read_conflict_for_a_changed_version(chain: Chain, parties: Parties, changed_in: str) -> None:
    with_range(chain, parties)
    reader = parties.tx(scan("r", "s", True, *FULL_RANGE))
    if changed_in == "an earlier block":
        chain.add(parties.write("r3", b"new"))
        result = chain.add(reader)
    else:
        result = chain.add(parties.write("r3", b"new"), reader)
    assert_code(result, len(result.codes) - 1, Code.PHANTOM_READ_CONFLICT)
    assert chain.get("out") is None


def test_an_unbounded_range_sees_keys_to_the_end_of_the_namespace(chain: Chain, parties: Parties) -> None:
    with_range(chain, parties)
    everything = (*FULL_RANGE, ("s", (1, 0)))
    assert codes(chain.add(parties.tx(scan("r", "", True, *everything)))) == ["VALID"]
    result = chain.add(parties.write("zz"), parties.tx(scan("r", "", True, *everything, write="out2")))
    assert_code(result, 1, Code.PHANTOM_READ_CONFLICT)


def test_a_range_not_exhausted_compares_only_the_recorded_prefix(chain: Chain, parties: Parties) -> None:
    """The chaincode stopped after r2, and Fabric then records end_key = r2: keys after the
    results it saw do not matter, while a scan that went to the end of the range sees them."""
    with_range(chain, parties)
    stopped = parties.tx(scan("r", "r2", False, ("r1", (1, 0)), ("r2", (1, 0)), write="stopped"))
    finished = parties.tx(scan("r", "s", True, *FULL_RANGE, write="finished"))
    result = chain.add(parties.write("r25"), stopped, finished)
    assert codes(result) == ["VALID", "VALID", "PHANTOM_READ_CONFLICT"]
    assert chain.get("stopped") == b"x" and chain.get("finished") is None
    # ... but a change inside the recorded prefix is still a phantom.
    inside = parties.tx(scan("r", "r2", False, ("r1", (1, 0)), ("r2", (1, 0)), write="inside"))
    result = chain.add(parties.write("r15"), inside)
    assert codes(result) == ["VALID", "PHANTOM_READ_CONFLICT"]


def test_a_range_not_exhausted_as_fabric_records_it_is_valid_when_unchanged(chain: Chain, parties: Parties) -> None:
    """Fabric validates [start_key, end_key] including end_key when the iterator was not
    exhausted (validateRangeQuery: includeEndKey := !ItrExhausted)."""
    with_range(chain, parties)
    fabric_shaped = parties.tx(scan("r", "r2", False, ("r1", (1, 0)), ("r2", (1, 0))))
    assert codes(chain.add(fabric_shaped)) == ["VALID"]


def test_a_range_not_exhausted_includes_its_end_key(chain: Chain, parties: Parties) -> None:
    with_range(chain, parties)
    reader = parties.tx(scan("r", "r2", False, ("r1", (1, 0)), ("r2", (1, 0))))
    result = chain.add(parties.write("r2", b"new"), reader)
    assert_code(result, 1, Code.PHANTOM_READ_CONFLICT)


def test_a_range_not_exhausted_is_checked_up_to_its_end_key(chain: Chain, parties: Parties) -> None:
    """A range recorded with an end key past its last result (no Fabric peer records that)
    is checked as Fabric checks every range: nothing more may lie up to the end key."""
    with_range(chain, parties)
    result = chain.add(parties.tx(scan("r", "s", False, ("r1", (1, 0)), ("r2", (1, 0)))))
    assert_code(result, 0, Code.PHANTOM_READ_CONFLICT)


def test_phantom_read_conflict_for_a_range_summarised_as_merkle_hashes(chain: Chain, parties: Parties) -> None:
    query = kv_rwset_pb2.RangeQueryInfo(
        start_key="r", end_key="s", itr_exhausted=True,
        reads_merkle_hashes=kv_rwset_pb2.QueryReadsMerkleSummary(max_degree=2, max_level=1, max_level_hashes=[b"h"]),
    )
    kv = kv_rwset_pb2.KVRWSet(range_queries_info=[query], writes=[kv_rwset_pb2.KVWrite(key="out", value=b"x")])
    results = raw_rwset(rwset_pb2.NsReadWriteSet(namespace=CC, rwset=kv.SerializeToString()))
    assert_code(chain.add(parties.tx(results=results)), 0, Code.PHANTOM_READ_CONFLICT, "merkle")
    assert chain.get("out") is None


# ----- what commit does with the codes ------------------------------------------------


def test_invalid_transactions_never_change_state_and_valid_ones_do(chain: Chain, parties: Parties) -> None:
    chain.add(parties.write("k", b"v1"), parties.write("gone", b"g"))
    before = chain.ledger.state().get(CC, "k")
    good = parties.tx({CC: NsWrites(writes={"good": b"yes"})})
    forged = parties.write("k", b"forged")
    not_a_signature = common_pb2.Envelope(payload=forged.payload, signature=b"\x30\x00")  # malformed DER
    bad = [
        not_a_signature,
        parties.write("k", b"one org", [parties.peer1]),
        parties.tx({CC: NsWrites(reads={"k": (0, 0)}, writes={"k": b"stale", "gone": None})}),
        parties.tx({CC: NsWrites(writes={"k": b"lifecycle"}), "_lifecycle": NsWrites(writes={"x": b"x"})}),
        parties.tx({CC: NsWrites(writes={"k": b"elsewhere"})}, channel="ch2"),
        good,  # a duplicate of the valid transaction below
    ]
    result = chain.add(good, *bad)
    assert codes(result) == ["VALID", "BAD_CREATOR_SIGNATURE", "ENDORSEMENT_POLICY_FAILURE", "MVCC_READ_CONFLICT",
                             "ILLEGAL_WRITESET", "TARGET_CHAIN_NOT_FOUND", "DUPLICATE_TXID"]
    assert set(result.updates) == {(CC, "good")}
    assert result.history == [(CC, "good", Version(2, 0))]
    state = chain.ledger.state()
    assert state.get(CC, "k") == before
    assert state.get(CC, "gone") is not None and state.get("_lifecycle", "x") is None
    assert chain.get("good") == b"yes"
    assert state.history(CC, "k") == [Version(1, 0)]
    assert state.history(CC, "good") == [Version(2, 0)]
    stored = chain.ledger.blocks.get(2)
    assert list(blocks.transactions_filter(stored)) == result.codes


def test_history_lists_every_valid_write_and_delete_newest_first(chain: Chain, parties: Parties) -> None:
    chain.add(parties.write("k", b"1"))
    chain.add(parties.write("k", b"2", [parties.peer1]), parties.write("k", b"3"))
    chain.add(parties.write("other"), parties.write("k", None))
    assert chain.ledger.state().history(CC, "k") == [Version(3, 1), Version(2, 1), Version(1, 0)]
    assert chain.get("k") is None


# ----- determinism ----------------------------------------------------------------------


def test_codes_and_commit_hashes_are_deterministic(make_chain: ChainFactory, parties: Parties) -> None:
    """The same blocks on two fresh ledgers give the same codes, state and commit hashes;
    validating a block twice without committing gives the same answer."""
    keyed = parties.tx({CC: NsWrites(writes={"k": b"v0"}, metadata={"k": {VALIDATION_PARAMETER: ORG1_PEER_ONLY}})})
    dup = parties.write("d")
    batches: list[list[Item]] = [
        [keyed, parties.tx({CC: NsWrites(writes={"r1": b"1", "r2": b"2"})}), dup],
        [
            dup, dup, b"", GARBAGE,
            parties.write("k", b"v1", [parties.peer1]),
            parties.write("k", b"v2", [parties.peer2]),
            parties.tx({CC: NsWrites(reads={"k": (1, 0)}, writes={"x": b"x"})}),
            parties.write("r15"),
            parties.tx(scan("r", "s", True, ("r1", (1, 1)), ("r2", (1, 1)))),
            parties.write("one", endorsers=[parties.peer2]),
            parties.tx({CC: NsWrites(writes={"y": b"y"})}, channel="ch2"),
        ],
    ]
    first, second = make_chain(), make_chain()
    outcomes = []
    for chain in (first, second):
        per_block = []
        for batch in batches:
            block = chain.block(*batch)
            again = chain.validator.validate(common_pb2.Block.FromString(block.SerializeToString()))
            result = chain.commit(block)
            assert result.codes == again.codes and result.updates == again.updates
            per_block.append((result.codes, dict(result.updates), list(result.history)))
        outcomes.append(per_block)
    assert outcomes[0] == outcomes[1]
    assert first.commit_hashes == second.commit_hashes
    assert len(set(first.commit_hashes)) == len(first.commit_hashes)
    assert [Code.Name(c) for c in outcomes[0][1][0]] == [
        "DUPLICATE_TXID", "DUPLICATE_TXID", "NIL_ENVELOPE", "NIL_ENVELOPE", "VALID", "ENDORSEMENT_POLICY_FAILURE",
        "MVCC_READ_CONFLICT", "VALID", "PHANTOM_READ_CONFLICT", "ENDORSEMENT_POLICY_FAILURE", "TARGET_CHAIN_NOT_FOUND",
    ]
    for key in ("k", "r1", "r15", "x", "one"):
        assert first.ledger.state().get(CC, key) == second.ledger.state().get(CC, key)
