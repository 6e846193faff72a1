"""Transactions through the Gateway, end to end: endorsed by two organizations, ordered,
validated and committed, with the client waiting for each commit.

    python benchmarks/gateway_submit.py [--transactions 2000] [--clients 2] [--threads 16] [--runs 3]

One orderer and one peer in each of two orgs on loopback; the channel's chaincode
`counter` needs AND('Org1MSP.peer','Org2MSP.peer'). Client processes use
consortia.client against Org1's peer, each with `--threads` threads calling
`submit_transaction("increment", key)` one after another on keys of their own (no
MVCC conflicts). Prints committed transactions/s and the median latency of one
submit (endorse + order + commit) per run, and the medians over the runs.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from consortia.client import GatewayError, connect
from consortia.msp.layout import load_signing_identity

if __package__ in (None, ""):  # run as `python benchmarks/FILE.py`: the repository must be importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import CHANNEL, BenchNetwork  # noqa: E402
from consortia.cli.argtypes import positive_int  # noqa: E402

CONTRACT = Path(__file__).resolve().parent / "contracts" / "counter"


def client(address: str, msp: str, name: str, count: int, threads: int, barrier: mp.Barrier,  # type: ignore[type-arg]
           out: mp.Queue) -> None:  # type: ignore[type-arg]
    signer = load_signing_identity(msp, "Org1MSP")
    with connect(address, signer=signer) as gateway:
        contract = gateway.get_network(CHANNEL).get_contract("counter")

        def work(thread: int) -> list[float]:
            latencies = []
            for n in range(count // threads):
                started = time.monotonic()
                contract.submit_transaction("increment", f"{name}-{thread}-{n}")
                latencies.append(time.monotonic() - started)
            return latencies

        barrier.wait()
        start = time.monotonic()
        with ThreadPoolExecutor(threads) as pool:
            results = list(pool.map(work, range(threads)))
        out.put((time.monotonic() - start, [latency for thread in results for latency in thread]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=positive_int, default=2000, help="per run, over all clients")
    parser.add_argument("--clients", type=positive_int, default=2)
    parser.add_argument("--threads", type=positive_int, default=16, help="per client process")
    parser.add_argument("--runs", type=positive_int, default=3)
    args = parser.parse_args()
    chaincode = {"name": "counter", "channels": [CHANNEL], "path": str(CONTRACT),
                 "endorsement_policy": "AND('Org1MSP.peer', 'Org2MSP.peer')"}
    with tempfile.TemporaryDirectory() as tmp, BenchNetwork(Path(tmp), orgs=2, chaincodes=[chaincode],
                                                             batch={"timeout": "100ms"}) as net:
        address, msp = net.peer_address("Org1MSP"), str(net.user_msp("Org1MSP"))
        with connect(address, signer=net.user("Org1MSP")) as gateway:  # until both orgs' chaincode answers
            contract = gateway.get_network(CHANNEL).get_contract("counter")
            for attempt in range(200):
                try:
                    contract.submit_transaction("increment", "warm-up")
                    break
                except GatewayError:
                    if attempt == 199:
                        raise
                    time.sleep(0.3)
        queue: mp.Queue[tuple[float, list[float]]] = mp.Queue()
        rates, medians = [], []
        per_client = args.transactions // args.clients
        for run in range(args.runs):
            barrier = mp.Barrier(args.clients)
            workers = [mp.Process(target=client, args=(address, msp, f"r{run}c{c}", per_client, args.threads,
                                                       barrier, queue)) for c in range(args.clients)]
            for worker in workers:
                worker.start()
            results = [queue.get() for _ in workers]
            for worker in workers:
                worker.join()
            elapsed = max(r[0] for r in results)
            latencies = [latency for r in results for latency in r[1]]
            rates.append(len(latencies) / elapsed)
            medians.append(statistics.median(latencies))
            print(f"run {run + 1}: {len(latencies)} transactions committed in {elapsed:.2f}s = {rates[-1]:,.0f} tx/s, "
                  f"median latency {medians[-1] * 1000:.0f} ms")
        print(f"median: {statistics.median(rates):,.0f} tx/s, latency {statistics.median(medians) * 1000:.0f} ms "
              f"over {args.runs} runs ({args.clients} clients x {args.threads} threads, 2-org AND policy)")


if __name__ == "__main__":
    main()
