"""consortia.client and the `consortia invoke | query | events` commands against real peers of
two organizations (tests/support/gatewaynet.py), in plaintext and over mutual TLS."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fabric_protos.peer import transaction_pb2

from consortia.client import (
    CommitError,
    CommitStatusError,
    EndorseError,
    FileCheckpointer,
    Gateway,
    GatewayError,
    InMemoryCheckpointer,
    aio,
    connect,
    sign_digest,
)
from tests.support.gatewaynet import GatewayNet
from tests.support.processes import cli, eventually

pytestmark = pytest.mark.integration

Code = transaction_pb2.TxValidationCode


@pytest.fixture(scope="module", params=["plaintext", "mutual-tls"])
def gw(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayNet]:
    net = GatewayNet(tmp_path_factory.mktemp(f"client-{request.param}"), tls=request.param != "plaintext",
                     mutual_tls=request.param != "plaintext")
    yield net
    net.stop()


def tls_options(gw: GatewayNet) -> dict[str, bytes | None]:
    tls = gw.net.client_tls
    if tls["root_ca"] is None:
        return {}
    root = (gw.net.layout.org("Org1MSP").node_dir("peer0") / "tls" / "ca.crt").read_bytes()
    return {"tls_root_ca": root, "client_cert": tls["client_cert"], "client_key": tls["client_key"]}


def org2_reads(gw: GatewayNet, key: str, expected: bytes) -> Callable[[], None]:
    def check() -> None:
        assert gw.evaluate("get", key, orgs=("Org2MSP",)) == expected
    return check


@pytest.fixture
def gateway(gw: GatewayNet) -> Iterator[Gateway]:
    with connect(gw.peer1.address, signer=gw.client, **tls_options(gw)) as gateway:
        yield gateway


def test_submit_waits_for_commit_and_evaluate_reads(gateway: Gateway, gw: GatewayNet) -> None:
    contract = gateway.get_network("ch1").get_contract("probe")
    assert contract.submit_transaction("incr", "sdk-counter") == b"1"
    assert contract.submit_transaction("incr", "sdk-counter") == b"2"
    assert contract.evaluate_transaction("get", "sdk-counter") == b"2"
    # Committed on Org2's peer too (which commits the block on its own, maybe a moment later).
    eventually(org2_reads(gw, "sdk-counter", b"2"))
    submitted = contract.submit_async("put", ["sdk-async", "yes"])
    status = submitted.get_status()
    assert status.successful and status.code == Code.VALID and status.block_number > 0
    assert status.transaction_id == submitted.transaction_id


def test_transient_data_reaches_the_chaincode_and_not_the_ledger(gateway: Gateway) -> None:
    contract = gateway.get_network("ch1").get_contract("probe")
    assert contract.evaluate("secret", ["pin"], transient={"pin": b"4321"}) == b"4321"


def test_failures_carry_the_reason(gateway: Gateway) -> None:
    contract = gateway.get_network("ch1").get_contract("probe")
    with pytest.raises(GatewayError) as evaluated:
        contract.evaluate_transaction("fail", "contract")
    assert "the probe was asked to fail" in str(evaluated.value) and evaluated.value.details
    with pytest.raises(EndorseError) as endorsed:
        contract.submit_transaction("fail", "contract")
    assert {d.msp_id for d in endorsed.value.details} == {"Org1MSP", "Org2MSP"}
    assert "the probe was asked to fail" in str(endorsed.value)
    with pytest.raises(CommitError) as committed:
        contract.submit("put", ["sdk-org1-only", "x"], endorsing_organizations=["Org1MSP"])
    assert committed.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
    assert committed.value.transaction_id in str(committed.value)


def test_mvcc_conflict_is_a_commit_error(gateway: Gateway) -> None:
    contract = gateway.get_network("ch1").get_contract("probe")
    first = contract.new_proposal("incr", ["sdk-race"]).endorse()
    second = contract.new_proposal("incr", ["sdk-race"]).endorse()
    statuses = [first.submit().get_status(), second.submit().get_status()]
    assert sorted(s.code_name for s in statuses) == ["MVCC_READ_CONFLICT", "VALID"]


def test_asyncio_client_keeps_many_transactions_in_flight_on_one_thread(gw: GatewayNet) -> None:
    async def scenario() -> None:
        async with aio.connect(gw.peer1.address, signer=gw.client, **tls_options(gw)) as gateway:
            network = gateway.get_network("ch1")
            contract = network.get_contract("probe")
            results = await asyncio.gather(*(contract.submit_transaction("put", f"aio-{n}", f"v{n}")
                                             for n in range(12)))
            assert results == [b""] * 12  # put returns nothing
            values = await asyncio.gather(*(contract.evaluate_transaction("get", f"aio-{n}") for n in range(12)))
            assert values == [f"v{n}".encode() for n in range(12)]
            assert await contract.submit_transaction("incr", "aio-counter") == b"1"
            submitted = await contract.submit_async("incr", ["aio-counter"])
            assert submitted.result == b"2"  # known from the endorsement, before the commit
            status = await submitted.get_status()
            assert status.successful and status.code == Code.VALID and status.block_number > 0
            again = await network.new_commit(submitted.transaction_id).get_status()
            assert again == status
            await asyncio.to_thread(eventually, org2_reads(gw, "aio-counter", b"2"))  # as the sync world sees it

    asyncio.run(scenario())


def test_asyncio_watched_commits_match_what_commit_status_answers(gw: GatewayNet) -> None:
    """Statuses read off the filtered-block stream are those CommitStatus gives, a
    conflict included."""
    async def scenario() -> None:
        async with aio.connect(gw.peer1.address, signer=gw.client, **tls_options(gw)) as gateway:
            network = gateway.get_network("ch1")
            contract = network.get_contract("probe")
            async with network.watch_commits() as watch:
                submitted = await asyncio.gather(*(contract.submit_async("put", [f"watched-{n}", f"v{n}"])
                                                   for n in range(8)))
                racing = [await contract.new_proposal("incr", ["watched-race"]).endorse() for _ in range(2)]
                submitted += [await transaction.submit() for transaction in racing]
                statuses = await asyncio.gather(*(s.get_status() for s in submitted))
                assert watch.pending == 0
            asked = await asyncio.gather(*(network.new_commit(s.transaction_id).get_status() for s in submitted))
            assert statuses == asked
            assert [s.code_name for s in statuses[:8]] == ["VALID"] * 8
            assert sorted(s.code_name for s in statuses[8:]) == ["MVCC_READ_CONFLICT", "VALID"]
            assert not watch.watching

    asyncio.run(scenario())


def test_asyncio_client_failures_carry_the_reason(gw: GatewayNet) -> None:
    async def scenario() -> None:
        async with aio.connect(gw.peer1.address, signer=gw.client, **tls_options(gw)) as gateway:
            contract = gateway.get_network("ch1").get_contract("probe")
            with pytest.raises(GatewayError) as evaluated:
                await contract.evaluate_transaction("fail", "contract")
            assert "the probe was asked to fail" in str(evaluated.value) and evaluated.value.details
            with pytest.raises(EndorseError) as endorsed:
                await contract.submit_transaction("fail", "contract")
            assert {d.msp_id for d in endorsed.value.details} == {"Org1MSP", "Org2MSP"}
            with pytest.raises(CommitError) as committed:
                await contract.submit("put", ["aio-org1-only", "x"], endorsing_organizations=["Org1MSP"])
            assert committed.value.code_name == "ENDORSEMENT_POLICY_FAILURE"
            first = await contract.new_proposal("incr", ["aio-race"]).endorse()
            second = await contract.new_proposal("incr", ["aio-race"]).endorse()
            statuses = [await (await first.submit()).get_status(), await (await second.submit()).get_status()]
            assert sorted(s.code_name for s in statuses) == ["MVCC_READ_CONFLICT", "VALID"]
            with pytest.raises(CommitStatusError) as unknown:
                await gateway.get_network("ch1").new_commit("f" * 64).get_status(timeout=0.5)
            assert unknown.value.transaction_id == "f" * 64
        async with aio.connect("127.0.0.1:1", signer=gw.client, **tls_options(gw)) as nowhere:
            with pytest.raises(EndorseError, match="cannot reach the gateway at 127.0.0.1:1"):
                await nowhere.get_network("ch1").get_contract("probe").submit_async("incr", ["x"])
        assert gw.evaluate("get", "aio-org1-only") == b""  # the refused write left nothing behind

    asyncio.run(scenario())


def test_offline_signing_round_trip(gw: GatewayNet) -> None:
    """A gateway that holds no key: every message is signed elsewhere, over its digest."""
    key = gw.client.private_key
    with connect(gw.peer1.address, identity=gw.client.serialize(), **tls_options(gw)) as gateway:
        contract = gateway.get_network("ch1").get_contract("probe")
        unsigned = contract.new_proposal("put", ["sdk-offline", "signed elsewhere"])
        proposal = gateway.new_signed_proposal(unsigned.bytes(), sign_digest(key, unsigned.digest()))
        prepared = proposal.endorse()
        transaction = gateway.new_signed_transaction(prepared.bytes(), sign_digest(key, prepared.digest()))
        submitted = transaction.submit()
        commit = gateway.new_signed_commit(submitted.bytes(), sign_digest(key, submitted.digest()))
        assert commit.get_status().code == Code.VALID
        query = contract.new_proposal("get", ["sdk-offline"])
        signed_query = gateway.new_signed_proposal(query.bytes(), sign_digest(key, query.digest()))
        assert signed_query.evaluate() == b"signed elsewhere"


def test_chaincode_events_resume_from_a_file_checkpoint(gateway: Gateway, tmp_path: Path) -> None:
    network = gateway.get_network("ch1")
    contract = network.get_contract("probe")
    first = contract.submit_async("emit", ["sdk-event", "1"])
    start = first.get_status().block_number
    for payload in ("2", "3"):
        contract.submit_transaction("emit", "sdk-event", payload)
    checkpointer = FileCheckpointer(tmp_path / "checkpoint.json")
    seen = []
    with network.get_chaincode_events("probe", start_block=start, checkpoint=checkpointer) as events:
        for event in events:
            if event.event_name == "sdk-event":
                seen.append(event.payload)
            checkpointer.checkpoint_chaincode_event(event)
            if len(seen) == 2:
                break
    assert seen == [b"1", b"2"]
    # A new process reads the file and carries on right after the second event.
    resumed = FileCheckpointer(tmp_path / "checkpoint.json")
    with network.get_chaincode_events("probe", checkpoint=resumed) as events:
        event = next(e for e in events if e.event_name == "sdk-event")
    assert event.payload == b"3"


def test_asyncio_chaincode_events_resume_from_a_checkpoint_and_end_when_closed(gw: GatewayNet) -> None:
    async def scenario() -> None:
        async with aio.connect(gw.peer1.address, signer=gw.client, **tls_options(gw)) as gateway:
            network = gateway.get_network("ch1")
            contract = network.get_contract("probe")
            first = await contract.submit_async("emit", ["aio-event", "1"])
            start = (await first.get_status()).block_number
            for payload in ("2", "3"):
                await contract.submit_transaction("emit", "aio-event", payload)
            checkpointer = InMemoryCheckpointer()
            seen = []
            async with network.get_chaincode_events("probe", start_block=start, checkpoint=checkpointer) as events:
                async for event in events:
                    if event.event_name == "aio-event":
                        seen.append(event.payload)
                    checkpointer.checkpoint_chaincode_event(event)
                    if len(seen) == 2:
                        break
            assert seen == [b"1", b"2"] and events.closed
            resumed = network.get_chaincode_events("probe", checkpoint=checkpointer)
            event = await anext(e async for e in resumed if e.event_name == "aio-event")
            assert event.payload == b"3" and event.block_number >= (checkpointer.block_number or 0)
            waiting = asyncio.create_task(anext(resumed, None))  # nothing more: waits for the next commit
            await asyncio.sleep(0.2)
            resumed.close()
            assert await waiting is None  # closed while waiting: the end, not an error

    asyncio.run(scenario())


def test_block_events_from_a_block_and_close_from_another_thread(gateway: Gateway) -> None:
    network = gateway.get_network("ch1")
    network.get_contract("probe").submit_transaction("emit", "block", "1")  # so that block 1 exists
    events = network.get_block_events(start_block=0)
    numbers = []
    for block in events:
        numbers.append(block.header.number)
        if len(numbers) == 2:
            break
    assert numbers == [0, 1]
    # A stream waiting for the next block ends when closed from elsewhere.
    waiting = network.get_block_events(start_block=10_000)
    timer = threading.Timer(0.5, waiting.close)
    timer.start()
    assert list(waiting) == []
    events.close()


def test_asyncio_block_events_whole_and_filtered_and_closed_while_waiting(gw: GatewayNet) -> None:
    async def scenario() -> None:
        async with aio.connect(gw.peer1.address, signer=gw.client, **tls_options(gw)) as gateway:
            network = gateway.get_network("ch1")
            submitted = await network.get_contract("probe").submit_async("emit", ["aio-block", "1"])
            committed = (await submitted.get_status()).block_number
            async with network.get_block_events(start_block=0) as blocks:
                numbers = [(await anext(blocks)).header.number for _ in range(committed + 1)]
            assert numbers == list(range(committed + 1)) and blocks.closed
            async with network.get_filtered_block_events(start_block=committed) as filtered:
                block = await anext(filtered)
            (transaction,) = [t for t in block.filtered_transactions if t.txid == submitted.transaction_id]
            assert block.number == committed and transaction.tx_validation_code == Code.VALID
            waiting_stream = network.get_block_events(start_block=committed + 10_000)
            waiting = asyncio.create_task(anext(waiting_stream, None))
            await asyncio.sleep(0.3)
            waiting_stream.close()
            assert await waiting is None  # closed while waiting: the end, not an error

    asyncio.run(scenario())


def cli_options(gw: GatewayNet) -> list[str]:
    options = ["--network", str(gw.net.network_file), "--crypto", str(gw.net.crypto), "--org", "Org1"]
    return options + (["--tls"] if gw.net.client_tls["root_ca"] is not None else [])


def test_cli_invoke_query_and_events(gw: GatewayNet) -> None:
    options = cli_options(gw)
    invoked = cli("invoke", "ch1", "probe", "emit", "cli-event", "hello from the CLI", *options)
    assert invoked.returncode == 0, invoked.stderr
    assert "committed in block" in invoked.stderr
    block = int(invoked.stderr.split("committed in block ")[1].split()[0])
    put = cli("invoke", "ch1", "probe", "put", "cli-key", "cli-value", *options)
    assert put.returncode == 0, put.stderr
    queried = cli("query", "ch1", "probe", "get", "cli-key", *options)
    assert (queried.returncode, queried.stdout) == (0, "cli-value\n"), queried.stderr
    events = cli("events", "ch1", "--chaincode", "probe", "--from", str(block), "--limit", "1", *options)
    assert events.returncode == 0, events.stderr
    assert "cli-event" in events.stdout and "hello from the CLI" in events.stdout


def test_cli_failures_exit_non_zero_with_the_reason(gw: GatewayNet) -> None:
    options = cli_options(gw)
    failed = cli("invoke", "ch1", "probe", "fail", "contract", *options)
    assert failed.returncode == 1 and "the probe was asked to fail" in failed.stderr
    refused = cli("invoke", "ch1", "probe", "put", "cli-org1", "x", "--endorsing-org", "Org1MSP", *options)
    assert refused.returncode == 1 and "ENDORSEMENT_POLICY_FAILURE" in refused.stderr
    unknown = cli("query", "ch1", "probe", "get", "x", *options, "--user", "Nobody")
    assert unknown.returncode == 1 and "Nobody" in unknown.stderr
