"""A real orderer process on loopback: admin, broadcast, deliver, restarts."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import grpc
import pytest
from fabric_protos.common import common_pb2

from consortia import adminclient
from consortia.adminclient import AdminCallError
from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block
from consortia.endpoint import NodeEndpoint
from consortia.msp.signing import verify_signed_data
from consortia.policy import parse_signature_policy
from consortia.protoutil import block as blocks
from consortia.protoutil.transaction import unpack_transaction
from tests.support.processes import run
from tests.support.testnet import NEWEST, OLDEST, TestNetwork, position

pytestmark = pytest.mark.integration

BAD_REQUEST, FORBIDDEN, NOT_FOUND, SUCCESS = (
    common_pb2.BAD_REQUEST, common_pb2.FORBIDDEN, common_pb2.NOT_FOUND, common_pb2.SUCCESS,
)


@pytest.fixture
def net(tmp_path: Path) -> TestNetwork:
    network = TestNetwork(tmp_path)
    network.orderer.start()
    run(network.join("ch1"))
    return network


def verify_chain(net: TestNetwork, chain: list[common_pb2.Block]) -> None:
    """Numbers, previous hashes, data hashes and the orderer's signature on every block."""
    bundle = ChannelBundle.from_config(config_from_block(chain[0]))
    previous = None
    for number, block in enumerate(chain):
        blocks.check_chain(block, number, previous)
        previous = blocks.header_hash(block.header)
        if number == 0:
            continue
        signers = [verify_signed_data(s, bundle.msp_manager) for s in blocks.block_signatures(block)]
        assert bundle.policies.evaluate("/Channel/Orderer/BlockValidation", signers)
        assert blocks.transactions_filter(block) == b""


def tx_ids(chain: list[common_pb2.Block]) -> list[str]:
    return [unpack_transaction(e).tx_id for b in chain[1:] for e in b.data.data]


def test_admin_join_list_remove(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path)
    net.orderer.start()
    admin = net.admin()

    async def scenario() -> None:
        assert (await adminclient.list_channels(admin)).channels == []
        info = await adminclient.join_channel(admin, net.genesis("ch1"))
        assert (info.channel_id, info.height) == ("ch1", 1)
        with pytest.raises(AdminCallError, match="already serves channel ch1.*ALREADY_EXISTS"):
            await adminclient.join_channel(admin, net.genesis("ch1"))
        with pytest.raises(AdminCallError, match="not an admin of OrdererMSP.*PERMISSION_DENIED"):
            await adminclient.join_channel(NodeEndpoint(net.admin_address, net.identity("OrdererMSP", "orderer0")), net.genesis("ch2"))
        with pytest.raises(AdminCallError, match="belongs to Org1MSP, not to OrdererMSP"):
            await adminclient.join_channel(net.admin("Org1MSP"), net.genesis("ch2"))
        with pytest.raises(AdminCallError, match="not a common.Block.*INVALID_ARGUMENT"):
            await adminclient.join_channel(admin, b"\xff\xff\xff")
        with pytest.raises(AdminCallError, match="not a valid genesis block"):
            await adminclient.join_channel(admin, blocks.new_block(0, b"", [b"junk"]).SerializeToString())
        await adminclient.join_channel(admin, net.genesis("ch2"))
        listed = await adminclient.list_channels(admin)
        assert [(c.channel_id, c.height) for c in listed.channels] == [("ch1", 1), ("ch2", 1)]
        removed = await adminclient.remove_channel(admin, "ch2")
        assert removed.channel_id == "ch2"
        with pytest.raises(AdminCallError, match="does not serve channel 'ch2'.*NOT_FOUND"):
            await adminclient.remove_channel(admin, "ch2")

    run(scenario())
    # The orderer remembers its channels across a restart.
    assert net.orderer.stop() == 0
    net.orderer.start()
    listed = run(adminclient.list_channels(admin))
    assert [c.channel_id for c in listed.channels] == ["ch1"]
    assert not (tmp_path / "orderer-data" / "channels" / "ch2").exists()


def test_many_clients_one_total_order(net: TestNetwork) -> None:
    clients = [net.identity("Org1MSP"), net.identity("Org2MSP"), net.identity("Org1MSP", "Admin")]
    peer = net.identity("Org1MSP", "peer0")
    per_client = 60
    batches = [[net.transaction("ch1", c, peer, f"{i}-{n}".encode()) for n in range(per_client)]
               for i, c in enumerate(clients)]

    async def scenario() -> tuple[list[list[common_pb2.Block]], list[list[int]]]:
        answers = await asyncio.gather(*(net.broadcast(b) for b in batches))
        for answer in answers:
            assert [a.status for a in answer] == [SUCCESS] * per_client
        total = len(clients) * per_client
        readers = [net.identity("Org1MSP", "peer0"), net.identity("Org2MSP"), net.identity("OrdererMSP", "orderer0")]

        async def read(reader) -> tuple[list[common_pb2.Block], list[int]]:  # type: ignore[no-untyped-def]
            got: list[common_pb2.Block] = []
            while sum(len(b.data.data) for b in got[1:]) < total:
                more, statuses = await net.deliver(net.seek("ch1", reader, position(len(got)), NEWEST))
                assert statuses == [SUCCESS]
                got.extend(more)
                await asyncio.sleep(0.1)
            return got, []

        results = await asyncio.gather(*(read(r) for r in readers))
        return [r[0] for r in results], []

    chains, _ = run(scenario())
    expected = sorted(unpack_transaction(e).tx_id for batch in batches for e in batch)
    first = chains[0]
    assert sorted(tx_ids(first)) == expected  # every accepted envelope in exactly one block
    for other in chains[1:]:
        assert [b.SerializeToString() for b in other[: len(first)]] == [b.SerializeToString() for b in first[: len(other)]]
    verify_chain(net, first)
    # Each client's envelopes keep the order in which that client sent them.
    order = tx_ids(first)
    for batch in batches:
        ids = [unpack_transaction(e).tx_id for e in batch]
        assert sorted(ids, key=order.index) == ids
    assert all(len(b.data.data) <= 10 for b in first[1:])


def test_refusals_and_the_orderer_keeps_serving(net: TestNetwork) -> None:
    client = net.identity("Org1MSP")
    peer = net.identity("Org1MSP", "peer0")
    good = net.transaction("ch1", client, peer)
    tampered = common_pb2.Envelope()
    tampered.CopyFrom(net.transaction("ch1", client, peer))
    tampered.signature = client.sign(b"something else")  # a valid signature, of other bytes
    other_channel = net.transaction("nochannel", client, peer)
    outsider = net.transaction("ch1", net.identity("Org3MSP"), net.identity("Org3MSP", "peer0"))
    peer_as_writer = net.transaction("ch1", peer, peer)
    huge = net.transaction("ch1", client, peer, b"x" * (300 * 1024))
    answers = run(net.broadcast([good, tampered, other_channel, b"\xff\xff garbage", outsider, huge, peer_as_writer, good]))
    got = [(a.status, a.info) for a in answers]
    assert got[0] == (SUCCESS, "")
    assert got[1][0] == FORBIDDEN and "signature does not verify" in got[1][1]
    assert got[2] == (NOT_FOUND, "channel 'nochannel' does not exist on this orderer")
    assert got[3][0] == BAD_REQUEST and "malformed envelope" in got[3][1]
    assert got[4][0] == FORBIDDEN and "MSP 'Org3MSP' is not known here" in got[4][1]
    assert got[5][0] == BAD_REQUEST and "more than the channel's AbsoluteMaxBytes of 262144" in got[5][1]
    assert got[6][0] == FORBIDDEN and "/Channel/Writers" in got[6][1]
    assert got[7] == (SUCCESS, "")
    # Only the two good envelopes were ordered.
    chain, statuses = run(net.deliver(net.seek("ch1", peer, OLDEST, position(1))))
    assert statuses == [SUCCESS]
    chain2, _ = run(net.deliver(net.seek("ch1", peer, OLDEST, NEWEST)))
    assert sum(len(b.data.data) for b in chain2[1:]) == 2


def test_batch_timeout_cuts_a_lone_envelope(net: TestNetwork) -> None:
    client = net.identity("Org1MSP")
    run(net.broadcast([net.transaction("ch1", client, net.identity("Org1MSP", "peer0"))]))
    chain, statuses = run(net.deliver(net.seek("ch1", client, OLDEST, position(1)), timeout=10))
    assert statuses == [SUCCESS] and len(chain) == 2 and len(chain[1].data.data) == 1


def test_deliver_refusals(net: TestNetwork) -> None:
    member = net.identity("Org2MSP")
    outsider = net.identity("Org3MSP")
    _, statuses = run(net.deliver(net.seek("ch1", outsider, OLDEST, NEWEST)))
    assert statuses == [FORBIDDEN]
    _, statuses = run(net.deliver(net.seek("nochannel", member, OLDEST, NEWEST)))
    assert statuses == [NOT_FOUND]
    _, statuses = run(net.deliver(net.seek("ch1", member, position(5), position(9), fail_if_not_ready=True)))
    assert statuses == [NOT_FOUND]
    _, statuses = run(net.deliver(net.seek("ch1", member, position(3), position(1))))
    assert statuses == [BAD_REQUEST]
    # Several requests on one stream; the genesis block is readable by members.
    chain, statuses = run(net.deliver(net.seek("ch1", member, OLDEST, OLDEST), net.seek("ch1", member, NEWEST, NEWEST)))
    assert statuses == [SUCCESS, SUCCESS] and [b.header.number for b in chain] == [0, 0]
    assert hashlib.sha256(chain[0].SerializeToString()).digest() == hashlib.sha256(net.genesis("ch1")).digest()


def test_deliver_streams_new_blocks_as_they_are_cut(net: TestNetwork) -> None:
    client = net.identity("Org1MSP")
    peer = net.identity("Org1MSP", "peer0")

    async def scenario() -> list[common_pb2.Block]:
        waiting = asyncio.create_task(net.deliver(net.seek("ch1", peer, position(1), position(3))))
        await asyncio.sleep(0.3)
        for _ in range(3):
            await net.broadcast([net.transaction("ch1", client, peer) for _ in range(10)])
        got, statuses = await asyncio.wait_for(waiting, 20)
        assert statuses == [SUCCESS]
        return got

    assert [b.header.number for b in run(scenario())] == [1, 2, 3]


def test_policy_from_channel_is_what_orderer_enforces(net: TestNetwork) -> None:
    # Block signatures satisfy a BlockValidation policy naming the orderer org explicitly too.
    chain, _ = run(net.deliver(net.seek("ch1", net.identity("Org1MSP"), OLDEST, NEWEST)))
    run(net.broadcast([net.transaction("ch1", net.identity("Org1MSP"), net.identity("Org1MSP", "peer0"))]))
    chain, _ = run(net.deliver(net.seek("ch1", net.identity("Org1MSP"), OLDEST, position(1))))
    bundle = ChannelBundle.from_config(config_from_block(chain[0]))
    signers = [verify_signed_data(s, bundle.msp_manager) for s in blocks.block_signatures(chain[1])]
    assert bundle.policies.evaluate_rule(parse_signature_policy("'OrdererMSP.orderer'"), signers)
    assert not bundle.policies.evaluate_rule(parse_signature_policy("'Org1MSP.member'"), signers)


def test_unreachable_admin_is_a_clear_error(tmp_path: Path) -> None:
    net = TestNetwork(tmp_path)  # never started
    with pytest.raises(AdminCallError, match=f"cannot reach the admin service at {net.admin_address}"):
        run(adminclient.list_channels(net.admin()))


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mutual-tls"])
def test_tls(tmp_path: Path, mutual: bool) -> None:
    net = TestNetwork(tmp_path, tls=True, mutual_tls=mutual)
    net.orderer.start()
    run(net.join("ch1"))
    client = net.identity("Org1MSP")
    answers = run(net.broadcast([net.transaction("ch1", client, net.identity("Org1MSP", "peer0"))]))
    assert [a.status for a in answers] == [SUCCESS]
    chain, statuses = run(net.deliver(net.seek("ch1", client, OLDEST, position(1))))
    assert statuses == [SUCCESS] and len(chain) == 2
    # Plaintext clients get nowhere; without a client certificate neither do TLS clients under mutual TLS.
    net.client_tls = {"root_ca": None, "client_cert": None, "client_key": None}
    with pytest.raises(grpc.aio.AioRpcError):
        run(net.broadcast([net.transaction("ch1", client, net.identity("Org1MSP", "peer0"))]))
    if mutual:
        net.client_tls = {"root_ca": net.tls_ca, "client_cert": None, "client_key": None}
        with pytest.raises(grpc.aio.AioRpcError):
            run(net.broadcast([net.transaction("ch1", client, net.identity("Org1MSP", "peer0"))]))
