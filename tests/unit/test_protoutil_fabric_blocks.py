"""Known answers: two consecutive blocks committed by a real Hyperledger Fabric 2.5 peer.

protoutil must parse them, reproduce their hashes and the hash chain, decode their
transactions and endorsements, and verify every signature in them. If any rule of
FABRIC_WIRE.md were implemented differently, one of these would fail.
"""

from __future__ import annotations

import hashlib

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2

from consortia.errors import MessageError, SignatureError
from consortia.msp.identity import deserialize_identity
from consortia.msp.signing import SignedData, verify_signed_data
from consortia.policy import parse_signature_policy
from consortia.policy.evaluation import CompiledPolicy
from consortia.protoutil import block as blocks
from consortia.protoutil.proposal import proposal_hash
from consortia.protoutil.transaction import unpack_transaction
from tests.conftest import FIXTURES

pytestmark = pytest.mark.unit


class WireDeserializer:
    """Decodes creators without an MSP: the fixture's CA certificates are not in the blocks."""

    def deserialize(self, serialized: bytes):  # type: ignore[no-untyped-def]
        return deserialize_identity(serialized)


class AnyValidChecker:
    """Treats every decoded identity as valid and classifies it by its NodeOU."""

    def satisfies(self, identity, msp_id, role):  # type: ignore[no-untyped-def]
        return identity.msp_id == msp_id and (role.label == "member" or role.label in identity.organizational_units)


def load(number: int) -> common_pb2.Block:
    return common_pb2.Block.FromString((FIXTURES / "fabric-2.5" / f"block-{number}.pb").read_bytes())


@pytest.fixture(scope="module")
def block4() -> common_pb2.Block:
    return load(4)


@pytest.fixture(scope="module")
def block5() -> common_pb2.Block:
    return load(5)


def test_blocks_parse_with_fabric_shape(block4: common_pb2.Block, block5: common_pb2.Block) -> None:
    for number, block in ((4, block4), (5, block5)):
        assert block.header.number == number
        assert len(block.data.data) == 1
        assert len(block.metadata.metadata) == blocks.METADATA_SLOTS
        assert blocks.transactions_filter(block) == b"\x00"
        assert block.metadata.metadata[blocks.LAST_CONFIG] == b""
        commit_hash = common_pb2.Metadata.FromString(block.metadata.metadata[blocks.COMMIT_HASH])
        assert len(commit_hash.value) == 32


def test_data_hash_reproduced(block4: common_pb2.Block, block5: common_pb2.Block) -> None:
    for block in (block4, block5):
        assert blocks.data_hash(block.data) == block.header.data_hash
        assert blocks.data_hash(list(block.data.data)) == block.header.data_hash


def test_header_hash_links_block5_to_block4(block4: common_pb2.Block, block5: common_pb2.Block) -> None:
    assert blocks.header_hash(block4.header) == block5.header.previous_hash
    blocks.check_chain(block5, 5, blocks.header_hash(block4.header))


def test_header_der_encoding_shape(block4: common_pb2.Block) -> None:
    der = blocks.header_bytes(block4.header)
    # SEQUENCE { INTEGER 4, OCTET STRING(32) previous, OCTET STRING(32) data }
    assert der[:2] == bytes([0x30, 3 + 34 + 34])
    assert der[2:5] == bytes([0x02, 0x01, 0x04])
    assert der[5:7] == bytes([0x04, 32]) and der[7:39] == block4.header.previous_hash
    assert der[39:41] == bytes([0x04, 32]) and der[41:] == block4.header.data_hash
    assert blocks.header_hash(block4.header) == hashlib.sha256(der).digest()


def test_check_chain_refuses_a_broken_link(block4: common_pb2.Block, block5: common_pb2.Block) -> None:
    with pytest.raises(MessageError, match="expected block 6, received block 5"):
        blocks.check_chain(block5, 6, blocks.header_hash(block4.header))
    with pytest.raises(MessageError, match="previous hash"):
        blocks.check_chain(block5, 5, b"\x00" * 32)
    tampered = common_pb2.Block()
    tampered.CopyFrom(block5)
    tampered.data.data[0] = tampered.data.data[0] + b"\x00"
    with pytest.raises(MessageError, match="data hash"):
        blocks.check_chain(tampered, 5, blocks.header_hash(block4.header))


def test_transactions_decode(block4: common_pb2.Block) -> None:
    tx = unpack_transaction(block4.data.data[0])
    tx.envelope.check_tx_id()
    assert tx.channel_id == "trading"
    assert tx.envelope.header_type == common_pb2.ENDORSER_TRANSACTION
    assert len(tx.actions) == 1
    action = tx.actions[0]
    # The action header is the payload's signature header, byte for byte.
    assert tx.transaction.actions[0].header == tx.envelope.payload.header.signature_header
    assert action.chaincode_name == "allowance"
    assert action.chaincode_action.chaincode_id.version == "1.0"
    assert action.chaincode_action.response.status == 200
    # The transient map is never in the transaction.
    assert not action.proposal_payload.TransientMap
    namespaces = {ns.namespace: ns for ns in action.read_write_set().ns_rwset}
    assert set(namespaces) == {"_lifecycle", "allowance"}
    lifecycle = kv_rwset_pb2.KVRWSet.FromString(namespaces["_lifecycle"].rwset)
    assert [r.key for r in lifecycle.reads] == ["namespaces/fields/allowance/Sequence"]
    writes = kv_rwset_pb2.KVRWSet.FromString(namespaces["allowance"].rwset).writes
    assert [w.key for w in writes] == ["boot-0"]
    assert writes[0].value == action.chaincode_action.response.payload


def test_proposal_hash_reproduced(block4: common_pb2.Block, block5: common_pb2.Block) -> None:
    for block in (block4, block5):
        tx = unpack_transaction(block.data.data[0])
        action = tx.actions[0]
        assert proposal_hash(tx.envelope.payload.header, action.proposal_payload) == action.response_payload.proposal_hash


def test_every_signature_verifies(block4: common_pb2.Block, block5: common_pb2.Block) -> None:
    deserializer = WireDeserializer()
    for block in (block4, block5):
        orderer_signatures = blocks.block_signatures(block)
        assert [verify_signed_data(s, deserializer).msp_id for s in orderer_signatures] == ["OrdererMSP"]
        tx = unpack_transaction(block.data.data[0])
        assert verify_signed_data(tx.envelope.signed_data(), deserializer).msp_id == "Org1MSP"
        endorsers = [verify_signed_data(s, deserializer) for s in tx.actions[0].endorsement_signed_data()]
        assert sorted(e.msp_id for e in endorsers) == ["Org1MSP", "Org2MSP"]
        policy = CompiledPolicy(parse_signature_policy("AND('Org1MSP.peer','Org2MSP.peer')"))
        assert policy.evaluate(endorsers, AnyValidChecker())
        assert not policy.evaluate(endorsers[:1], AnyValidChecker())


def test_tampering_breaks_signatures(block5: common_pb2.Block) -> None:
    deserializer = WireDeserializer()
    signed = blocks.block_signatures(block5)[0]
    with pytest.raises(SignatureError):
        verify_signed_data(SignedData(signed.data + b"x", signed.identity, signed.signature), deserializer)
    tx = unpack_transaction(block5.data.data[0])
    endorsement = tx.actions[0].endorsement_signed_data()[0]
    other = tx.actions[0].endorsement_signed_data()[1]
    with pytest.raises(SignatureError):
        verify_signed_data(SignedData(endorsement.data, other.identity, endorsement.signature), deserializer)


def test_last_config_index(block4: common_pb2.Block) -> None:
    assert blocks.last_config_index(block4) == 0
