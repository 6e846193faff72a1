"""ProcessProposal refusals, each with Fabric's kind of answer and a reason a person can use."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from fabric_protos.common import common_pb2
from fabric_protos.peer import peer_pb2_grpc, proposal_pb2, proposal_response_pb2

from consortia.msp.ca import CertificateAuthority, load_private_key_pem
from consortia.msp.signing import SigningIdentity
from consortia.protoutil.proposal import create_proposal, sign_proposal
from tests.support.identities import signing_identity
from tests.support.processes import eventually, free_ports, run, share
from tests.support.testnet import PeerHandle, TestNetwork

pytestmark = pytest.mark.integration

PROBE = Path(__file__).resolve().parent.parent / "fixtures" / "contracts" / "probe"


@pytest.fixture(scope="module")
def endorsing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestNetwork, PeerHandle]]:
    net = TestNetwork(tmp_path_factory.mktemp("endorser"))
    net.orderer.start()
    run(net.join("ch1"))
    peer = net.peer("Org1MSP", chaincode_listen=f"127.0.0.1:{free_ports(1)[0]}",
                    chaincodes=[{"name": "probe", "channels": ["ch1"], "path": str(PROBE),
                                 "endorsement_policy": "OR('Org1MSP.peer')"}])
    peer.node.start()
    run(net.join_peer(peer, "ch1"))
    share(net.orderer, peer.node)
    # The peer started the chaincode with itself: a proposal waits until it has registered.
    _, (response,) = run(net.endorse([peer], "probe", "whoami"))
    assert response.response.status == 200, response.response.message
    yield net, peer
    peer.node.kill()
    net.orderer.kill()


async def send(net: TestNetwork, peer: PeerHandle, signed: proposal_pb2.SignedProposal) -> proposal_response_pb2.ProposalResponse:
    async with net._peer_channel(peer) as ch:
        return await peer_pb2_grpc.EndorserStub(ch).ProcessProposal(signed, timeout=30)


def refused(net: TestNetwork, peer: PeerHandle, signed: proposal_pb2.SignedProposal) -> tuple[int, str]:
    response = run(send(net, peer, signed))
    assert not response.HasField("endorsement") and not response.payload
    return response.response.status, response.response.message


def proposal(client: SigningIdentity, channel: str = "ch1", chaincode: str = "probe",
             timestamp: dt.datetime | None = None) -> proposal_pb2.SignedProposal:
    made, _ = create_proposal(channel, chaincode, [b"whoami"], client.serialize())
    if timestamp is not None:
        header = common_pb2.Header.FromString(made.header)
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        channel_header.timestamp.FromDatetime(timestamp)
        header.channel_header = channel_header.SerializeToString()
        made.header = header.SerializeToString()
    return sign_proposal(made, client)


def test_a_good_proposal_is_endorsed(endorsing: tuple[TestNetwork, PeerHandle]) -> None:
    net, peer = endorsing
    response = run(send(net, peer, proposal(net.identity("Org1MSP"))))
    assert response.response.status == 200 and response.HasField("endorsement")
    assert response.endorsement.endorser == net.identity("Org1MSP", "peer0").serialize()


def test_refusals(endorsing: tuple[TestNetwork, PeerHandle]) -> None:
    net, peer = endorsing
    client = net.identity("Org1MSP")
    status, message = refused(net, peer, proposal_pb2.SignedProposal(proposal_bytes=b"\xff\xff", signature=b"x"))
    assert status == 400 and message.startswith("malformed proposal: proposal is not a valid protos.Proposal")
    forged = proposal(client)
    forged.signature = client.sign(b"other bytes")
    status, message = refused(net, peer, forged)
    assert status == 403 and "signature does not verify" in message
    assert refused(net, peer, proposal(client, channel="ch9")) == (404, "channel 'ch9' not found on this peer")
    status, message = refused(net, peer, proposal(net.identity("Org3MSP")))
    assert status == 403 and "MSP 'Org3MSP' is not known here" in message
    status, message = refused(net, peer, proposal(net.identity("Org1MSP", "peer0")))
    assert status == 403 and "/Channel/Application/Writers" in message
    stale = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    status, message = refused(net, peer, proposal(client, timestamp=stale))
    assert status == 400 and "is more than 0:15:00 from this peer's clock" in message
    status, message = refused(net, peer, proposal(client, chaincode="nothere"))
    assert (status, message) == (404, "chaincode nothere is not defined on channel ch1")


def test_bad_tx_id(endorsing: tuple[TestNetwork, PeerHandle]) -> None:
    net, peer = endorsing
    client = net.identity("Org1MSP")
    made, _ = create_proposal("ch1", "probe", [b"whoami"], client.serialize())
    header = common_pb2.Header.FromString(made.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    channel_header.tx_id = "f" * 64
    header.channel_header = channel_header.SerializeToString()
    made.header = header.SerializeToString()
    status, message = refused(net, peer, sign_proposal(made, client))
    assert status == 400 and "does not match the proposal header" in message


def test_duplicate_transaction(endorsing: tuple[TestNetwork, PeerHandle]) -> None:
    net, peer = endorsing
    unpacked, responses = run(net.endorse([peer], "probe", "put", "dup", "1"))
    assert run(net.submit(unpacked, responses)) == 200

    def refused_once_committed() -> None:
        response = run(send(net, peer, unpacked.signed))
        assert response.response.status == 409, response.response.message
        assert response.response.message == f"duplicate transaction found [{unpacked.tx_id}]"

    eventually(refused_once_committed)


def test_expired_creator_certificate(endorsing: tuple[TestNetwork, PeerHandle]) -> None:
    net, peer = endorsing
    ca_dir = net.layout.org("Org1MSP").ca_cert.parent
    ca = CertificateAuthority(
        key=load_private_key_pem((ca_dir / "priv_sk").read_bytes()),
        certificate=x509.load_pem_x509_certificate(net.layout.org("Org1MSP").ca_cert.read_bytes()),
    )
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)
    expired = signing_identity("Org1MSP", ca.issue("old@org1", organizational_units=["client"], not_before=long_ago,
                                                   lifetime=dt.timedelta(days=1)))
    status, message = refused(net, peer, proposal(expired))
    assert status == 403 and "expired at" in message
