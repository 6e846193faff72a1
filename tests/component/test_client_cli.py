"""`consortia invoke | query | events` against stand-in gateway and deliver services on
loopback, with real crypto material made by `consortia.cryptogen` in a temp folder.

The commands run in this process (the stand-ins are in it too) through the CLI's own
entry point, so exit codes and the `error: ...` lines are those a person sees.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import chaincode_event_pb2, transaction_pb2

from consortia.cli import main as cli_main
from consortia.config.network import PORTS_PER_NODE, load_network
from consortia.cryptogen import generate
from consortia.msp.identity import deserialize_identity
from consortia.msp.signing import verify_signature
from consortia.protoutil import block as blocks
from consortia.protoutil.proposal import unpack_proposal
from tests.component.client_fakes import Failure, FakeDeliver, FakeGateway, serve
from tests.support.identities import make_org
from tests.support.processes import free_port_block

pytestmark = pytest.mark.component

NETWORK = """\
name: clitest
base_port: {base}
organizations:
  - name: Org1
    msp_id: Org1MSP
    domain: org1.example.com
    peers: [{{name: peer0, port: {port}}}]
    users: [{{name: User1}}]
  - name: Auditor
    msp_id: AuditorMSP
    domain: auditor.example.com
    peers: []
    users: [{{name: Viewer}}]
channels:
  - name: mychannel
    organizations: [Org1MSP, AuditorMSP]
"""

Run = Callable[..., tuple[int, str, str]]


@dataclass(frozen=True)
class CliNetwork:
    file: Path
    crypto: Path
    port: int

    @property
    def org1(self) -> Path:
        return self.crypto / "peerOrganizations" / "org1.example.com"

    def options(self) -> list[str]:
        return ["--network", str(self.file), "--crypto", str(self.crypto)]


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> CliNetwork:
    folder = tmp_path_factory.mktemp("cli-network")
    port = free_port_block(PORTS_PER_NODE)  # the peer's own ports
    file = folder / "network.yaml"
    file.write_text(NETWORK.format(base=free_port_block(PORTS_PER_NODE), port=port))
    generate(load_network(file), folder / "crypto")
    return CliNetwork(file, folder / "crypto", port)


@pytest.fixture
def fake() -> FakeGateway:
    return FakeGateway(endorser=make_org("Org1MSP").identity("peer"))


@pytest.fixture
def deliver() -> FakeDeliver:
    chain = [blocks.new_block(n, b"", [b"a", b"b"]) for n in (5, 6)]
    blocks.set_transactions_filter(chain[0], [transaction_pb2.VALID, transaction_pb2.MVCC_READ_CONFLICT])
    blocks.set_transactions_filter(chain[1], [transaction_pb2.VALID, transaction_pb2.VALID])
    return FakeDeliver(blocks=chain)


@pytest.fixture
def peer(net: CliNetwork, fake: FakeGateway, deliver: FakeDeliver) -> Iterator[str]:
    """The stand-in peer, where the network file says Org1's peer0 listens."""
    with serve(gateway=fake, deliver=deliver, port=net.port) as address:
        yield address


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    """Run `consortia ARGS...` through its entry point; (exit code, stdout, stderr)."""

    def run(*argv: str) -> tuple[int, str, str]:
        code = cli_main.main(list(argv))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def test_query_prints_the_result_as_the_user(run: Run, net: CliNetwork, fake: FakeGateway, peer: str) -> None:
    fake.result = "排放量 42".encode()
    code, out, err = run("query", "mychannel", "mrv", "GetReport", "r1", "--org", "Org1", *net.options())
    assert (code, out, err) == (0, "排放量 42\n", "")
    (request,) = fake.requests["Evaluate"]
    proposal = unpack_proposal(request.proposed_transaction)
    assert (proposal.channel_id, proposal.chaincode, proposal.args) == ("mychannel", "mrv", [b"GetReport", b"r1"])
    creator = deserialize_identity(proposal.creator)
    assert (creator.msp_id, creator.common_name) == ("Org1MSP", "User1@org1.example.com")
    verify_signature(creator.public_key, request.proposed_transaction.signature,
                     request.proposed_transaction.proposal_bytes)


def test_the_default_user_is_the_orgs_first(run: Run, net: CliNetwork, fake: FakeGateway, peer: str) -> None:
    code, _, err = run("query", "mychannel", "mrv", "GetReport", "r1", "--org", "Auditor", "--peer", peer,
                       *net.options())
    assert code == 0, err
    (request,) = fake.requests["Evaluate"]
    creator = deserialize_identity(unpack_proposal(request.proposed_transaction).creator)
    assert (creator.msp_id, creator.common_name) == ("AuditorMSP", "Viewer@auditor.example.com")


def test_query_prints_binary_results_as_hex(run: Run, net: CliNetwork, fake: FakeGateway, peer: str) -> None:
    fake.result = b"\xff\x00\x01"
    assert run("query", "mychannel", "mrv", "Raw", "--org", "Org1MSP", *net.options())[:2] == (0, "ff0001\n")


def test_invoke_prints_the_result_and_the_block(run: Run, net: CliNetwork, fake: FakeGateway, peer: str) -> None:
    fake.result, fake.commit_block = b"ok", 9
    code, out, err = run("invoke", "mychannel", "mrv", "Submit", "r1", "100", "--org", "org1msp", "--user", "Admin",
                         "--transient", "price=7", "--endorsing-org", "Org1MSP", "--timeout", "20", *net.options())
    assert (code, out) == (0, "ok\n"), err
    tx_id = fake.requests["Submit"][0].transaction_id
    assert err == f"committed in block 9 (tx {tx_id})\n"
    (endorse,) = fake.requests["Endorse"]
    proposal = unpack_proposal(endorse.proposed_transaction)
    assert proposal.args == [b"Submit", b"r1", b"100"] and proposal.transient == {"price": b"7"}
    assert list(endorse.endorsing_organizations) == ["Org1MSP"]
    assert deserialize_identity(proposal.creator).common_name == "Admin@org1.example.com"
    assert not proposal.spec.input.is_init


def test_invoke_init_marks_the_proposal_as_the_chaincode_s_init(run: Run, net: CliNetwork, fake: FakeGateway,
                                                                peer: str) -> None:
    code, _, err = run("invoke", "mychannel", "mrv", "Setup", "2026", "--init", "--org", "Org1", *net.options())
    assert code == 0, err
    (endorse,) = fake.requests["Endorse"]
    proposal = unpack_proposal(endorse.proposed_transaction)
    assert proposal.args == [b"Setup", b"2026"] and proposal.spec.input.is_init


def test_invoke_that_commits_invalid_exits_1_with_the_code_name(run: Run, net: CliNetwork, fake: FakeGateway,
                                                                peer: str) -> None:
    fake.commit_code = transaction_pb2.MVCC_READ_CONFLICT
    code, out, err = run("invoke", "mychannel", "mrv", "Submit", "--org", "Org1", *net.options())
    tx_id = fake.requests["Submit"][0].transaction_id
    assert (code, out) == (1, "")
    assert err == f"error: transaction {tx_id} failed to commit with status code 11 (MVCC_READ_CONFLICT)\n"


def test_invoke_that_is_not_endorsed_prints_what_each_peer_said(run: Run, net: CliNetwork, fake: FakeGateway,
                                                               peer: str) -> None:
    detail = gateway_pb2.ErrorDetail(address="peer0.org2:7061", msp_id="Org2MSP", message="chaincode response 500, no r1")
    fake.failures["Endorse"] = Failure(grpc.StatusCode.ABORTED, "failed to endorse transaction", [detail])
    code, out, err = run("invoke", "mychannel", "mrv", "Submit", "--org", "Org1", *net.options())
    assert (code, out) == (1, "")
    assert err.startswith("error: endorsement of transaction ")
    assert "failed to endorse transaction (ABORTED)\n  - Org2MSP at peer0.org2:7061: chaincode response 500, no r1\n" in err


def test_mutual_tls_with_the_org_material(run: Run, net: CliNetwork, fake: FakeGateway) -> None:
    server_tls = net.org1 / "peers" / "peer0.org1.example.com" / "tls"
    credentials = grpc.ssl_server_credentials(
        [((server_tls / "server.key").read_bytes(), (server_tls / "server.crt").read_bytes())],
        root_certificates=(net.org1 / "tlsca" / "tlsca.org1.example.com-cert.pem").read_bytes(),
        require_client_auth=True,
    )
    with serve(gateway=fake, credentials=credentials, port=net.port):
        assert run("query", "mychannel", "mrv", "Get", "--org", "Org1", "--tls", *net.options())[:2] == (0, "result\n")
        code, _, err = run("query", "mychannel", "mrv", "Get", "--org", "Org1", "--timeout", "5", *net.options())
    assert code == 1 and "cannot reach the gateway at 127.0.0.1:" in err  # plain text to a TLS port
    assert len(fake.requests["Evaluate"]) == 1


def test_chaincode_events_print_one_line_each_and_checkpoint(run: Run, net: CliNetwork, fake: FakeGateway, peer: str,
                                                             tmp_path: Path) -> None:
    fake.chaincode_events = [gateway_pb2.ChaincodeEventsResponse(block_number=4, events=[
        chaincode_event_pb2.ChaincodeEvent(chaincode_id="mrv", tx_id=f"t{n}", event_name="Verified", payload=b"{}")
        for n in (1, 2, 3)
    ])]
    checkpoint = tmp_path / "cp.json"
    code, out, err = run("events", "mychannel", "--chaincode", "mrv", "--from", "4", "--limit", "2",
                         "--checkpoint", str(checkpoint), "--org", "Org1", *net.options())
    assert (code, out, err) == (0, "block 4\ttx t1\tVerified\t{}\nblock 4\ttx t2\tVerified\t{}\n", "")
    assert json.loads(checkpoint.read_text()) == {"blockNumber": 4, "transactionId": "t2"}
    request = gateway_pb2.ChaincodeEventsRequest.FromString(fake.requests["ChaincodeEvents"][0].request)
    assert (request.chaincode_id, request.start_position.specified.number) == ("mrv", 4)


def test_block_events_print_one_line_per_block(run: Run, net: CliNetwork, deliver: FakeDeliver, peer: str) -> None:
    code, out, err = run("events", "mychannel", "--limit", "2", "--org", "Org1", *net.options())
    assert (code, err) == (0, "")
    assert out == ("block 5\t2 transactions\t1 MVCC_READ_CONFLICT, 1 VALID\n"
                   "block 6\t2 transactions\t2 VALID\n")
    assert [method for method, _ in deliver.requests] == ["Deliver"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--org", "Org9"],
         "error: unknown organization 'Org9' in {file}; its organizations are Org1 (Org1MSP), Auditor (AuditorMSP)\n"),
        (["--org", "Org1", "--user", "Bob"],
         "error: organization Org1 has no user 'Bob' in {file}; its users are Admin, User1\n"),
        (["--org", "Auditor", "--user", "Viewer"],
         ("error: organization Auditor (AuditorMSP) runs no peer: give --peer HOST:PORT of the peer "
          "(of another organization) whose gateway to use\n")),
        (["--org", "Org1", "--peer", "nowhere"], "error: --peer expects HOST:PORT (e.g. 127.0.0.1:7051), got 'nowhere'\n"),
        (["--org", "Org1", "--transient", "oops"], "error: --transient expects KEY=VALUE, got 'oops'\n"),
        (["--org", "Org1", "--tls-cert", "c.pem"], "error: --tls-cert and --tls-key go together: give both or neither\n"),
        (["--org", "Org1", "--tls-ca", "/no/such/ca.pem"],
         "error: cannot read TLS CA certificate /no/such/ca.pem: No such file or directory\n"),
    ],
)
def test_bad_input_gets_a_specific_message(run: Run, net: CliNetwork, argv: list[str], message: str) -> None:
    code, out, err = run("query", "mychannel", "mrv", "Get", *argv, *net.options())
    assert (code, out, err) == (1, "", message.format(file=net.file))


def test_missing_crypto_material_says_how_to_make_it(run: Run, net: CliNetwork, tmp_path: Path) -> None:
    crypto = tmp_path / "crypto"
    shutil.copytree(net.crypto, crypto)
    shutil.rmtree(crypto / "peerOrganizations" / "org1.example.com" / "users" / "User1@org1.example.com")
    code, _, err = run("invoke", "mychannel", "mrv", "Put", "--org", "Org1", "--network", str(net.file),
                       "--crypto", str(crypto))
    assert code == 1
    assert err.startswith("error: no crypto material for User1@org1.example.com: ")
    assert f"`consortia crypto generate {net.file} --out {crypto}`" in err


def test_usage_mistakes_exit_2(run: Run, net: CliNetwork) -> None:
    with pytest.raises(SystemExit) as caught:
        run("events", "mychannel", "--limit", "0", "--org", "Org1", *net.options())
    assert caught.value.code == 2
