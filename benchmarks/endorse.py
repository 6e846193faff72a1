"""Endorsement throughput: proposals per second through ProcessProposal on one peer.

    python benchmarks/endorse.py [--proposals 6000] [--clients 2] [--concurrency 32] [--runs 3]

One orderer and one peer on loopback; the peer runs the `counter` contract (a Python
chaincode process it launched) whose `increment(key)` reads a key and writes it back
(read-modify-write) on 1,000 keys. Client processes send signed proposals, each with
`--concurrency` in flight, and the clock runs from the first send to the last response.
Prints proposals/s per run and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc
import yaml
from fabric_protos.peer import peer_pb2_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from consortia import adminclient, cryptogen
from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.genesis import genesis_block
from consortia.config.network import load_network
from consortia.grpcutil import channel
from consortia.msp.layout import load_signing_identity
from consortia.protoutil.proposal import create_proposal, sign_proposal

CONTRACT = Path(__file__).resolve().parent / "contracts" / "counter"
KEYS = 1000


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def wait_healthy(address: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node at {address} exited")
        try:
            with grpc.insecure_channel(address) as ch:
                if health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=1).status == 1:
                    return
        except grpc.RpcError:
            pass
        time.sleep(0.1)
    raise TimeoutError(address)


def client(address: str, crypto: str, count: int, concurrency: int, barrier: mp.Barrier, out: mp.Queue) -> None:  # type: ignore[type-arg]
    signer = load_signing_identity(Path(crypto) / "peerOrganizations/org1.example.com/users/User1@org1.example.com/msp", "Org1MSP")
    proposals = []
    for _ in range(count):
        made, _ = create_proposal("bench", "counter", [b"increment", f"key{random.randrange(KEYS)}".encode()], signer.serialize())
        proposals.append(sign_proposal(made, signer))

    async def go() -> tuple[float, int]:
        async with channel(address) as ch:
            stub = peer_pb2_grpc.EndorserStub(ch)
            queue = iter(proposals)
            ok = 0

            async def worker() -> None:
                nonlocal ok
                for proposal in queue:
                    response = await stub.ProcessProposal(proposal, timeout=60)
                    ok += response.response.status == 200

            await asyncio.get_running_loop().run_in_executor(None, barrier.wait)
            start = time.monotonic()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            return time.monotonic() - start, ok

    out.put(asyncio.run(go()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proposals", type=int, default=6000, help="per run, over all clients")
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        orderer_port, peer_port, chaincode_port = free_ports(3)
        base = free_ports(1)[0]
        spec = {"name": "bench", "base_port": 20000 + base % 30000,
                "organizations": [{"name": "Org1", "msp_id": "Org1MSP", "domain": "org1.example.com"}],
                "orderer": {"nodes": [{"name": "orderer0", "port": orderer_port}]},
                "channels": [{"name": "bench", "organizations": ["Org1MSP"]}]}
        (root / "network.yaml").write_text(yaml.safe_dump(spec))
        network = load_network(root / "network.yaml")
        crypto = root / "crypto"
        cryptogen.generate(network, crypto)
        block = genesis_block(build_channel_config(network, "bench", crypto)).SerializeToString()
        orderer_dir = crypto / "ordererOrganizations/orderer.example.com"
        org_dir = crypto / "peerOrganizations/org1.example.com"
        (root / "orderer.yaml").write_text(yaml.safe_dump({
            "msp_id": "OrdererMSP", "msp_dir": str(orderer_dir / "orderers/orderer0.orderer.example.com/msp"),
            "listen": f"127.0.0.1:{orderer_port}", "admin_listen": f"127.0.0.1:{orderer_port + 1}",
            "data_dir": str(root / "orderer"), "log_level": "WARNING"}))
        admin_port = free_ports(1)[0]
        (root / "peer.yaml").write_text(yaml.safe_dump({
            "msp_id": "Org1MSP", "msp_dir": str(org_dir / "peers/peer0.org1.example.com/msp"),
            "listen": f"127.0.0.1:{peer_port}", "admin_listen": f"127.0.0.1:{admin_port}",
            "chaincode_listen": f"127.0.0.1:{chaincode_port}", "data_dir": str(root / "peer"), "log_level": "WARNING",
            "chaincodes": [{"name": "counter", "channels": ["bench"], "path": str(CONTRACT),
                            "endorsement_policy": "OR('Org1MSP.peer')"}]}))
        nodes = [subprocess.Popen([sys.executable, "-m", "orderer", "--config", str(root / "orderer.yaml")]),
                 subprocess.Popen([sys.executable, "-m", "peer", "--config", str(root / "peer.yaml")])]
        try:
            wait_healthy(f"127.0.0.1:{orderer_port}", nodes[0])
            wait_healthy(f"127.0.0.1:{peer_port}", nodes[1])
            orderer_admin = adminclient.AdminTarget(f"127.0.0.1:{orderer_port + 1}", load_signing_identity(
                orderer_dir / "users/Admin@orderer.example.com/msp", "OrdererMSP"))
            asyncio.run(adminclient.join_channel(orderer_admin, block))
            peer_admin = adminclient.AdminTarget(f"127.0.0.1:{admin_port}", load_signing_identity(
                org_dir / "users/Admin@org1.example.com/msp", "Org1MSP"))
            asyncio.run(adminclient.join_channel(peer_admin, block))
            # Warm up: wait until the chaincode answers.
            mp_queue: mp.Queue[tuple[float, int]] = mp.Queue()
            for _ in range(100):
                warm = mp.Process(target=client, args=(f"127.0.0.1:{peer_port}", str(crypto), 1, 1, mp.Barrier(1), mp_queue))
                warm.start()
                warm.join()
                if mp_queue.get()[1] == 1:
                    break
                time.sleep(0.3)
            rates = []
            per_client = args.proposals // args.clients
            for run in range(args.runs):
                barrier = mp.Barrier(args.clients)
                workers = [mp.Process(target=client, args=(f"127.0.0.1:{peer_port}", str(crypto), per_client,
                                                         args.concurrency, barrier, mp_queue))
                           for _ in range(args.clients)]
                for w in workers:
                    w.start()
                results = [mp_queue.get() for _ in workers]
                for w in workers:
                    w.join()
                elapsed = max(r[0] for r in results)
                endorsed = sum(r[1] for r in results)
                rate = per_client * args.clients / elapsed
                rates.append(rate)
                print(f"run {run + 1}: {per_client * args.clients} proposals ({endorsed} endorsed) in {elapsed:.2f}s "
                      f"= {rate:,.0f} proposals/s")
            print(f"median: {statistics.median(rates):,.0f} proposals/s over {args.runs} runs "
                  f"({args.clients} client processes x {args.concurrency} in flight, read-modify-write, one peer)")
        finally:
            for node in nodes:
                node.send_signal(signal.SIGTERM)
            for node in nodes:
                node.wait(30)


if __name__ == "__main__":
    main()
