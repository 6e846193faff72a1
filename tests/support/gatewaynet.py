"""A two-organization network for gateway tests: an orderer, Org1's peer, and Org2's two
peers of which the first is listed in the channel but never runs (so every endorsement
from Org2 has to fail over). Chaincode `probe` needs both orgs (AND); `lonely` needs
Org3, which is not in the channel; `either` needs one of Org1 and Org2. Calls go through gateway.Gateway as Fabric's
clients make them."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2, gateway_pb2_grpc
from fabric_protos.orderer import ab_pb2
from fabric_protos.peer import proposal_pb2

from consortia.msp.signing import SigningIdentity
from consortia.protoutil.proposal import create_proposal, sign_proposal
from tests.support.processes import free_ports, run, share
from tests.support.testnet import NETWORK, PeerHandle, TestNetwork

PROBE = Path(__file__).resolve().parent.parent / "fixtures" / "contracts" / "probe"


class GatewayNet:
    def __init__(self, root: Path, *, tls: bool = False, mutual_tls: bool = False) -> None:
        orgs = [dict(org) for org in NETWORK["organizations"]]
        orgs[1]["peers"] = [{"name": "peer0"}, {"name": "peer1"}]
        self.net = TestNetwork(root, {"organizations": orgs}, tls=tls, mutual_tls=mutual_tls)
        self.net.orderer.start()
        run(self.net.join("ch1"))
        chaincodes = [
            {"name": "probe", "channels": ["ch1"], "path": str(PROBE),
             "endorsement_policy": "AND('Org1MSP.peer', 'Org2MSP.peer')"},
            {"name": "lonely", "channels": ["ch1"], "path": str(PROBE), "endorsement_policy": "OR('Org3MSP.peer')"},
            {"name": "either", "channels": ["ch1"], "path": str(PROBE),
             "endorsement_policy": "OR('Org1MSP.peer', 'Org2MSP.peer')"},
        ]
        self.peer1 = self.net.peer("Org1MSP", chaincode_listen=f"127.0.0.1:{free_ports(1)[0]}", chaincodes=chaincodes)
        # Org2's peer0 is listed in the channel but never runs.
        self.net.peer("Org2MSP", "peer0")
        self.peer2 = self.net.peer("Org2MSP", "peer1", chaincode_listen=f"127.0.0.1:{free_ports(1)[0]}",
                                   chaincodes=chaincodes)
        for peer in (self.peer1, self.peer2):
            peer.node.start()
            run(self.net.join_peer(peer, "ch1"))
        self.client = self.net.identity("Org1MSP")
        deadline = time.monotonic() + 60
        while True:  # until both peers' chaincode answers
            try:
                self.evaluate("get", "nothing", orgs=("Org2MSP",))
                self.evaluate("get", "nothing")
                break
            except grpc.RpcError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"the gateway network did not come up:\n{self.peer1.node.tail()}"
                                         f"\n{self.peer2.node.tail()}") from None
                time.sleep(0.3)
        share(self.net.orderer, self.peer1.node, self.peer2.node)

    def stub(self, peer: PeerHandle | None = None) -> tuple[grpc.Channel, gateway_pb2_grpc.GatewayStub]:
        peer = peer or self.peer1
        tls = self.net.client_tls
        if tls["root_ca"] is None:
            channel = grpc.insecure_channel(peer.address)
        else:
            root = (self.net.layout.org(peer.msp_id).node_dir(peer.name) / "tls" / "ca.crt").read_bytes()
            channel = grpc.secure_channel(peer.address, grpc.ssl_channel_credentials(
                root, tls["client_key"], tls["client_cert"]))
        return channel, gateway_pb2_grpc.GatewayStub(channel)

    def proposal(self, chaincode: str, *args: str, client: SigningIdentity | None = None,
                 channel: str = "ch1") -> tuple[str, proposal_pb2.SignedProposal]:
        client = client or self.client
        made, tx_id = create_proposal(channel, chaincode, [a.encode() for a in args], client.serialize())
        return tx_id, sign_proposal(made, client)

    def evaluate(self, function: str, *args: str, chaincode: str = "probe", peer: PeerHandle | None = None,
                 client: SigningIdentity | None = None, orgs: tuple[str, ...] = ()) -> bytes:
        tx_id, signed = self.proposal(chaincode, function, *args, client=client)
        channel, stub = self.stub(peer)
        with channel:
            response = stub.Evaluate(gateway_pb2.EvaluateRequest(
                transaction_id=tx_id, channel_id="ch1", proposed_transaction=signed,
                target_organizations=list(orgs)), timeout=60)
        return bytes(response.result.payload)

    def endorse(self, function: str, *args: str, chaincode: str = "probe", orgs: tuple[str, ...] = (),
                client: SigningIdentity | None = None) -> tuple[str, common_pb2.Envelope]:
        client = client or self.client
        tx_id, signed = self.proposal(chaincode, function, *args, client=client)
        channel, stub = self.stub()
        with channel:
            response = stub.Endorse(gateway_pb2.EndorseRequest(
                transaction_id=tx_id, channel_id="ch1", proposed_transaction=signed,
                endorsing_organizations=list(orgs)), timeout=60)
        envelope = response.prepared_transaction
        assert not envelope.signature  # the client signs
        envelope.signature = client.sign(envelope.payload)
        return tx_id, envelope

    def submit(self, tx_id: str, envelope: common_pb2.Envelope) -> None:
        channel, stub = self.stub()
        with channel:
            stub.Submit(gateway_pb2.SubmitRequest(transaction_id=tx_id, channel_id="ch1",
                                                  prepared_transaction=envelope), timeout=60)

    def commit_status(self, tx_id: str, client: SigningIdentity | None = None,
                      signature: bytes | None = None, timeout: float = 60) -> gateway_pb2.CommitStatusResponse:
        client = client or self.client
        request = gateway_pb2.CommitStatusRequest(transaction_id=tx_id, channel_id="ch1",
                                                  identity=client.serialize()).SerializeToString()
        channel, stub = self.stub()
        with channel:
            return stub.CommitStatus(gateway_pb2.SignedCommitStatusRequest(
                request=request, signature=client.sign(request) if signature is None else signature), timeout=timeout)

    def transact(self, function: str, *args: str, **kwargs: object) -> tuple[str, gateway_pb2.CommitStatusResponse]:
        tx_id, envelope = self.endorse(function, *args, **kwargs)  # type: ignore[arg-type]
        self.submit(tx_id, envelope)
        return tx_id, self.commit_status(tx_id)

    def events(self, chaincode: str, count: int, *, start: int | None = None,
               after: str = "") -> list[gateway_pb2.ChaincodeEventsResponse]:
        request = gateway_pb2.ChaincodeEventsRequest(channel_id="ch1", chaincode_id=chaincode,
                                                     identity=self.client.serialize(), after_transaction_id=after)
        if start is not None:
            request.start_position.CopyFrom(ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start)))
        raw = request.SerializeToString()
        channel, stub = self.stub()
        found = []
        with channel:
            stream = stub.ChaincodeEvents(gateway_pb2.SignedChaincodeEventsRequest(
                request=raw, signature=self.client.sign(raw)), timeout=60)
            for response in stream:
                found.append(response)
                if sum(len(r.events) for r in found) >= count:
                    stream.cancel()
                    break
        return found

    def stop(self) -> None:
        for node in (self.peer1.node, self.peer2.node, self.net.orderer):
            node.kill()
