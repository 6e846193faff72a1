"""Messages we build ourselves: they must parse back, hash and sign by Fabric's rules,
and malformed input must be refused with an error that names the bad layer."""

from __future__ import annotations

import hashlib

import pytest
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import chaincode_event_pb2, chaincode_pb2, proposal_pb2, proposal_response_pb2

from consortia.errors import MessageError, SignatureError
from consortia.msp.manager import MSPManager
from consortia.msp.signing import verify_signed_data
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import create_signed_envelope, unpack_envelope
from consortia.protoutil.proposal import create_proposal, sign_proposal, unpack_proposal
from consortia.protoutil.response import create_proposal_response, unpack_response_payload
from consortia.protoutil.transaction import create_signed_transaction, unpack_transaction
from consortia.protoutil.txid import NONCE_SIZE, compute_tx_id
from tests.support.identities import SampleOrg, manager

pytestmark = pytest.mark.unit


def _proposal(org: SampleOrg, **kwargs: object):  # type: ignore[no-untyped-def]
    client = org.identity("client")
    proposal, tx_id = create_proposal(
        "mychannel", "basic", [b"transfer", b"a", b"7"], client.serialize(), **kwargs  # type: ignore[arg-type]
    )
    return client, sign_proposal(proposal, client), tx_id


def test_tx_id_is_sha256_of_nonce_and_creator() -> None:
    assert compute_tx_id(b"n", b"c") == hashlib.sha256(b"nc").hexdigest()


def test_proposal_round_trip(org1: SampleOrg) -> None:
    client, signed, tx_id = _proposal(org1, transient={"secret": b"s3cret"})
    unpacked = unpack_proposal(signed)
    unpacked.check_tx_id()
    assert unpacked.tx_id == tx_id
    assert len(unpacked.signature_header.nonce) == NONCE_SIZE
    assert unpacked.channel_id == "mychannel"
    assert unpacked.chaincode == "basic"
    assert unpacked.args == [b"transfer", b"a", b"7"]
    assert unpacked.transient == {"secret": b"s3cret"}
    assert unpacked.creator == client.serialize()
    mgr = manager(org1)
    assert verify_signed_data(unpacked.signed_data(), mgr) == client.identity


def test_proposal_hash_ignores_transient_map(org1: SampleOrg) -> None:
    client = org1.identity("client")
    nonce = b"n" * NONCE_SIZE
    with_secret, _ = create_proposal("ch", "cc", [b"f"], client.serialize(), nonce=nonce, transient={"k": b"v"})
    # Same headers, no transient map: only the transient map differs.
    without = proposal_pb2.Proposal()
    without.CopyFrom(with_secret)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(without.payload)
    del payload.TransientMap["k"]
    without.payload = payload.SerializeToString()
    a = unpack_proposal(sign_proposal(with_secret, client)).hash
    b = unpack_proposal(sign_proposal(without, client)).hash
    assert a == b


def test_forged_tx_id_is_detected(org1: SampleOrg) -> None:
    client, signed, _ = _proposal(org1)
    proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    channel_header.tx_id = "0" * 64
    header.channel_header = channel_header.SerializeToString()
    proposal.header = header.SerializeToString()
    with pytest.raises(MessageError, match="does not match the proposal header"):
        unpack_proposal(sign_proposal(proposal, client)).check_tx_id()


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda sp: sp.ClearField("proposal_bytes"), "no proposal bytes"),
        (lambda sp: sp.ClearField("signature"), "no signature"),
        (lambda sp: setattr(sp, "proposal_bytes", b"\xff\xff\xff"), "proposal is not a valid protos.Proposal"),
    ],
)
def test_malformed_signed_proposal(org1: SampleOrg, mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    _, signed, _ = _proposal(org1)
    mutate(signed)
    with pytest.raises(MessageError, match=message):
        unpack_proposal(signed)


def _rebuilt(org: SampleOrg, header_type: int = common_pb2.ENDORSER_TRANSACTION, chaincode: str = "basic",
             spec_name: str = "basic", creator: bytes | None = None, nonce: bytes = b"n") -> proposal_pb2.SignedProposal:
    client = org.identity("client")
    ext = proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode))
    ch = common_pb2.ChannelHeader(type=header_type, channel_id="c", tx_id="t", extension=ext.SerializeToString())
    sh = common_pb2.SignatureHeader(creator=client.serialize() if creator is None else creator, nonce=nonce)
    spec = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(chaincode_id=chaincode_pb2.ChaincodeID(name=spec_name))
    )
    payload = proposal_pb2.ChaincodeProposalPayload(input=spec.SerializeToString())
    proposal = proposal_pb2.Proposal(
        header=common_pb2.Header(channel_header=ch.SerializeToString(), signature_header=sh.SerializeToString()).SerializeToString(),
        payload=payload.SerializeToString(),
    )
    return sign_proposal(proposal, client)


def test_proposal_header_checks(org1: SampleOrg) -> None:
    with pytest.raises(MessageError, match="header type is CONFIG; expected ENDORSER_TRANSACTION"):
        unpack_proposal(_rebuilt(org1, header_type=common_pb2.CONFIG))
    with pytest.raises(MessageError, match="names no chaincode"):
        unpack_proposal(_rebuilt(org1, chaincode="", spec_name=""))
    with pytest.raises(MessageError, match="names chaincode 'basic' but its input names 'other'"):
        unpack_proposal(_rebuilt(org1, spec_name="other"))
    with pytest.raises(MessageError, match="no creator"):
        unpack_proposal(_rebuilt(org1, creator=b""))
    with pytest.raises(MessageError, match="no nonce"):
        unpack_proposal(_rebuilt(org1, nonce=b""))


def _endorse(unpacked, peer, results: bytes = b"rwset", event=None):  # type: ignore[no-untyped-def]
    return create_proposal_response(
        unpacked,
        results=results,
        response=proposal_response_pb2.Response(status=200, payload=b"result"),
        chaincode_id=chaincode_pb2.ChaincodeID(name="basic", version="1.0"),
        endorser=peer,
        event=event,
    )


def test_transaction_from_two_endorsements(org1: SampleOrg, org2: SampleOrg) -> None:
    client, signed, tx_id = _proposal(org1, transient={"secret": b"never on chain"})
    unpacked = unpack_proposal(signed)
    event = chaincode_event_pb2.ChaincodeEvent(chaincode_id="basic", tx_id=tx_id, event_name="Moved", payload=b"{}")
    peers = [org1.identity("peer"), org2.identity("peer")]
    responses = [_endorse(unpacked, p, event=event) for p in peers]
    prp, action = unpack_response_payload(responses[0].payload)
    assert prp.proposal_hash == unpacked.hash
    assert action.response.payload == b"result"

    envelope = create_signed_transaction(unpacked, responses, client)
    assert b"never on chain" not in envelope.payload
    tx = unpack_transaction(envelope.SerializeToString())
    tx.envelope.check_tx_id()
    assert tx.tx_id == tx_id
    assert tx.envelope.payload.header == unpacked.header  # header bytes carried over unchanged
    mgr = manager(org1, org2)
    assert verify_signed_data(tx.envelope.signed_data(), mgr) == client.identity
    endorsers = [verify_signed_data(s, mgr) for s in tx.actions[0].endorsement_signed_data()]
    assert endorsers == [p.identity for p in peers]
    assert tx.actions[0].event() == event
    assert tx.actions[0].chaincode_action.results == b"rwset"


def test_transaction_refuses_bad_responses(org1: SampleOrg, org2: SampleOrg) -> None:
    client, signed, _ = _proposal(org1)
    unpacked = unpack_proposal(signed)
    good = _endorse(unpacked, org1.identity("peer"))
    different = _endorse(unpacked, org2.identity("peer"), results=b"other results")
    with pytest.raises(MessageError, match="differs from response 0"):
        create_signed_transaction(unpacked, [good, different], client)
    failed = proposal_response_pb2.ProposalResponse()
    failed.CopyFrom(good)
    failed.response.status = 500
    failed.response.message = "chaincode said no"
    with pytest.raises(MessageError, match="status 500: chaincode said no"):
        create_signed_transaction(unpacked, [failed], client)
    with pytest.raises(MessageError, match="at least one"):
        create_signed_transaction(unpacked, [], client)
    with pytest.raises(MessageError, match="signed by the identity that created the proposal"):
        create_signed_transaction(unpacked, [good], org1.identity("client"))


def test_endorsement_over_other_payload_fails(org1: SampleOrg) -> None:
    client, signed, _ = _proposal(org1)
    unpacked = unpack_proposal(signed)
    a = _endorse(unpacked, org1.identity("peer"), results=b"a")
    b = _endorse(unpacked, org1.identity("peer"), results=b"b")
    swapped = proposal_response_pb2.ProposalResponse()
    swapped.CopyFrom(a)
    swapped.endorsement.signature = b.endorsement.signature
    tx = unpack_transaction(create_signed_transaction(unpacked, [swapped], client))
    with pytest.raises(SignatureError):
        verify_signed_data(tx.actions[0].endorsement_signed_data()[0], manager(org1))


@pytest.mark.parametrize(
    ("envelope", "message"),
    [
        (b"\xff\x01", "envelope is not a valid common.Envelope"),
        (common_pb2.Envelope(payload=b"").SerializeToString(), "empty payload"),
        (common_pb2.Envelope(payload=b"\x0a\x03abc").SerializeToString(), "not a valid common.Payload"),
        (common_pb2.Envelope(payload=common_pb2.Payload(data=b"x").SerializeToString()).SerializeToString(), "no header"),
    ],
)
def test_malformed_envelopes(envelope: bytes, message: str) -> None:
    with pytest.raises(MessageError, match=message):
        unpack_envelope(envelope)


def test_unpack_transaction_refuses_other_types(org1: SampleOrg) -> None:
    seek = ab_pb2.SeekInfo(start=ab_pb2.SeekPosition(oldest=ab_pb2.SeekOldest()))
    envelope = create_signed_envelope(common_pb2.DELIVER_SEEK_INFO, "c", org1.identity("client"), seek.SerializeToString())
    with pytest.raises(MessageError, match="expected ENDORSER_TRANSACTION"):
        unpack_transaction(envelope)


def test_signed_envelope(org1: SampleOrg) -> None:
    client = org1.identity("client")
    envelope = create_signed_envelope(common_pb2.DELIVER_SEEK_INFO, "mychannel", client, b"data", with_tx_id=True)
    unpacked = unpack_envelope(envelope)
    unpacked.check_tx_id()
    assert unpacked.channel_id == "mychannel"
    assert unpacked.payload.data == b"data"
    assert verify_signed_data(unpacked.signed_data(), manager(org1)) == client.identity


def test_block_build_sign_and_verify(org1: SampleOrg) -> None:
    orderer = org1.identity("orderer")
    genesis = blocks.new_block(0, b"", [b"config"])
    blocks.sign_block(genesis, orderer, last_config_index=0)
    nxt = blocks.new_block(1, blocks.header_hash(genesis.header), [b"tx1", b"tx2"])
    blocks.sign_block(nxt, orderer, last_config_index=0, consenter_metadata=b"raft")
    blocks.check_chain(genesis, 0, None)
    blocks.check_chain(nxt, 1, blocks.header_hash(genesis.header))
    assert nxt.header.data_hash == hashlib.sha256(b"tx1tx2").digest()
    assert blocks.transactions_filter(nxt) == b""
    blocks.set_transactions_filter(nxt, [0, 11])
    assert blocks.transactions_filter(nxt) == bytes([0, 11])
    with pytest.raises(MessageError, match="has 2 transactions, got 1 codes"):
        blocks.set_transactions_filter(nxt, [0])
    mgr: MSPManager = manager(org1)
    [signed] = blocks.block_signatures(nxt)
    assert verify_signed_data(signed, mgr) == orderer.identity
    assert blocks.last_config_index(nxt) == 0
    # The signature covers the header: a changed header no longer verifies.
    nxt.header.number = 7
    [resigned] = blocks.block_signatures(nxt)
    with pytest.raises(SignatureError):
        verify_signed_data(resigned, mgr)


def test_block_without_signatures() -> None:
    block = blocks.new_block(3, b"p", [])
    with pytest.raises(MessageError, match="block 3 carries no orderer signatures"):
        blocks.block_signatures(block)


def test_header_der_large_numbers() -> None:
    # 128 and 255 need a leading zero byte in DER (minimal two's complement, positive).
    for number, encoded in ((0, b"\x02\x01\x00"), (127, b"\x02\x01\x7f"), (128, b"\x02\x02\x00\x80"),
                            (256, b"\x02\x02\x01\x00"), (2**63, b"\x02\x09\x00\x80" + b"\x00" * 7)):
        header = common_pb2.BlockHeader(number=number, previous_hash=b"", data_hash=b"")
        der = blocks.header_bytes(header)
        assert der[2 : 2 + len(encoded)] == encoded
    long_hash = common_pb2.BlockHeader(number=1, previous_hash=b"a" * 200, data_hash=b"b")
    der = blocks.header_bytes(long_hash)
    assert der[:3] == bytes([0x30, 0x81, 3 + 3 + 200 + 3]) and der[6:9] == bytes([0x04, 0x81, 200])
