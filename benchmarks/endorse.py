"""Endorsement throughput: proposals per second through ProcessProposal on one peer.

    python -m benchmarks.endorse [--proposals 6000] [--clients 2] [--concurrency 32] [--runs 3]

One orderer and one peer on loopback; the peer runs the `counter` contract (a Python
chaincode process it launched) whose `increment(key)` reads a key and writes it back
(read-modify-write) on 1,000 keys. Client processes send signed proposals, each with
`--concurrency` in flight, and the clock runs from the first send to the last response.
Prints proposals/s per run and the median, and the CPU each node process and its
chaincode process spent per proposal (the clients' own CPU is not counted).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fabric_protos.peer import peer_pb2_grpc

from consortia.grpcutil import channel
from consortia.msp.layout import load_signing_identity
from consortia.protoutil.proposal import create_proposal, sign_proposal

if __package__ in (None, ""):  # run as `python benchmarks/FILE.py`: the repository must be importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import CHANNEL, BenchNetwork  # noqa: E402
from consortia.cli.argtypes import positive_int  # noqa: E402

CONTRACT = Path(__file__).resolve().parent / "contracts" / "counter"
KEYS = 1000


def client(address: str, msp: str, count: int, concurrency: int, barrier: mp.Barrier, out: mp.Queue) -> None:  # type: ignore[type-arg]
    signer = load_signing_identity(msp, "Org1MSP")
    proposals = []
    for _ in range(count):
        made, _ = create_proposal(CHANNEL, "counter", [b"increment", f"key{random.randrange(KEYS)}".encode()], signer.serialize())
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
    parser.add_argument("--proposals", type=positive_int, default=6000, help="per run, over all clients")
    parser.add_argument("--clients", type=positive_int, default=2)
    parser.add_argument("--concurrency", type=positive_int, default=32)
    parser.add_argument("--runs", type=positive_int, default=3)
    args = parser.parse_args()
    chaincode = {"name": "counter", "channels": [CHANNEL], "path": str(CONTRACT),
                 "endorsement_policy": "OR('Org1MSP.peer')"}
    with tempfile.TemporaryDirectory() as tmp, BenchNetwork(Path(tmp), chaincodes=[chaincode]) as net:
        address, msp = net.peer_address("Org1MSP"), str(net.user_msp("Org1MSP"))
        mp_queue: mp.Queue[tuple[float, int]] = mp.Queue()
        for _ in range(100):  # warm up: until the chaincode answers
            warm = mp.Process(target=client, args=(address, msp, 1, 1, mp.Barrier(1), mp_queue))
            warm.start()
            warm.join()
            if mp_queue.get()[1] == 1:
                break
            time.sleep(0.3)
        rates = []
        cpu_ms: dict[str, list[float]] = {}
        per_client = args.proposals // args.clients
        for run in range(args.runs):
            barrier = mp.Barrier(args.clients)
            workers = [mp.Process(target=client, args=(address, msp, per_client, args.concurrency, barrier, mp_queue))
                       for _ in range(args.clients)]
            cpu_before = net.cpu_seconds()
            for w in workers:
                w.start()
            results = [mp_queue.get() for _ in workers]
            cpu_after = net.cpu_seconds()
            for w in workers:
                w.join()
            for name, seconds in cpu_after.items():
                cpu_ms.setdefault(name, []).append((seconds - cpu_before.get(name, 0.0)) * 1000 / (per_client * args.clients))
            elapsed = max(r[0] for r in results)
            endorsed = sum(r[1] for r in results)
            rate = per_client * args.clients / elapsed
            rates.append(rate)
            print(f"run {run + 1}: {per_client * args.clients} proposals ({endorsed} endorsed) in {elapsed:.2f}s "
                  f"= {rate:,.0f} proposals/s")
        print(f"median: {statistics.median(rates):,.0f} proposals/s over {args.runs} runs "
              f"({args.clients} client processes x {args.concurrency} in flight, read-modify-write, one peer)")
        for name, values in cpu_ms.items():
            print(f"  CPU per proposal {name:<40} {statistics.median(values):.3f} ms")


if __name__ == "__main__":
    main()
