"""The whole system under load: `consortia network up` on the two-org network, then
load-generator processes submitting through consortia.client (its asyncio API).

    python benchmarks/e2e.py [--network network-config/two-orgs.yaml] [--duration 20]
                             [--clients 64] [--processes 2] [--window 4] [--keys 1000]
                             [--query-clients 16] [--runs 1] [--max-message-count N]
                             [--cpu-placement spread|none]

The network (network-config/two-orgs.yaml): Org1 and Org2 with one peer each, one
orderer, TLS on every node, the `counter` chaincode under AND('Org1MSP.peer',
'Org2MSP.peer'), blocks of 500 transactions or 2 s, as Fabric's defaults. `--clients`
clients, spread over `--processes` processes, each keep up to `--window` transactions
submitted and not yet committed (a fixed load, as Caliper's), each transaction
`increment` (read, then write) on a key drawn from `--keys` keys, so some
transactions of a block conflict (MVCC) as they would in Fabric. Then
`--query-clients` clients evaluate `read` one after another. A client is a coroutine
that endorses and submits one transaction after another and waits for the commit
status of up to `--window` of them at once (with `--window 1`, one transaction at a
time, as the Node SDK's clients of Fabric's benchmarks); the clients of a process
share one connection and event loop.

Prints, per run and as medians over the runs: committed valid transactions/s,
conflicts, latency p50/p95/p99 (submit to commit status), queries/s, the CPU time each
node, the chaincode processes and the load generators spent per transaction and per
query (what bounds throughput when every process shares two cores), the peak memory
(VmHWM) of each node and of the chaincode processes, and how long `network up` took.

`network up` gives each node's process a CPU, and a peer's chaincode processes the next
one (the network file's `cpu_placement: spread`, the default; consortia.cpus);
`--cpu-placement none` leaves them all to the kernel, to compare. The load generators
are not pinned.

The load generators and query clients run gRPC as the nodes do (consortia.grpcenv:
its transport setting, uvloop, and gRPC's poller thread in SCHED_BATCH); a client of
your own gets the same by setting GRPC_EXPERIMENTS likewise and running its event loop
with consortia.grpcenv.run. CONSORTIA_GRPC_POLLER=normal, set for this command, keeps
the default policy in every process, to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

if __package__ in (None, ""):  # run as `python benchmarks/e2e.py`: the repository must be importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consortia import grpcenv  # noqa: E402

grpcenv.prefer_direct_io()  # the clients here run gRPC as the nodes do (see consortia.grpcenv): before it loads

from benchmarks import procstats  # noqa: E402
from consortia.cli.argtypes import positive_int, seconds  # noqa: E402
from consortia.client import aio  # noqa: E402
from consortia.config.network import load_network  # noqa: E402
from consortia.cryptogen import CryptoLayout  # noqa: E402
from consortia.errors import ConsortiaError  # noqa: E402
from consortia.msp.layout import load_signing_identity  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_NETWORK = REPO / "network-config" / "two-orgs.yaml"
CHAINCODE = "counter"


@dataclass(frozen=True)
class Target:
    address: str
    msp: str
    msp_id: str
    tls_ca: bytes | None
    channel: str


def target(network_file: Path, directory: Path) -> Target:
    network = load_network(network_file)
    org = network.organizations[0]
    layout = CryptoLayout(directory / "crypto-config", network).org(org.msp_id)
    port = network.node_ports()[(org.msp_id, org.peers[0].name)].listen
    tls_ca = layout.tlsca_cert.read_bytes() if network.tls else None
    return Target(f"{network.host}:{port}", str(layout.user_dir(org.users[0].name) / "msp"), org.msp_id, tls_ca,
                  network.channels[0].name)


def load_process(spec: Target, clients: int, window: int, keys: int, start_at: float, stop_at: float,
                 out: Any) -> None:
    """One load generator: `clients` clients on one asyncio gateway connection, each with
    up to `window` transactions in flight."""
    records, cpu = grpcenv.run(_load(spec, clients, window, keys, start_at, stop_at))
    offset = time.time() - time.monotonic()  # report wall-clock times, comparable across processes
    out.put(([(s + offset, c + offset, v) for s, c, v in records], cpu))


async def _load(spec: Target, clients: int, window: int, keys: int, start_at: float,
                stop_at: float) -> tuple[list[tuple[float, float, bool]], float]:
    """Each transaction as (started, committed, valid), and this process's CPU seconds.

    A client endorses and submits one transaction after another, and waits for the
    commits of up to `window` of them at once.
    """
    signer = load_signing_identity(spec.msp, spec.msp_id)
    records: list[tuple[float, float, bool]] = []
    async with aio.connect(spec.address, signer=signer, tls_root_ca=spec.tls_ca) as gateway:
        network = gateway.get_network(spec.channel)
        contract = network.get_contract(CHAINCODE)

        async def committed(submitted: aio.SubmittedTransaction, started: float, slots: asyncio.Semaphore) -> None:
            try:
                valid = (await submitted.get_status()).successful
            except ConsortiaError:  # no status in time
                valid = False
            records.append((started, time.monotonic(), valid))
            slots.release()

        async def client(seed: int) -> None:
            rng = random.Random(seed)
            slots = asyncio.Semaphore(window)
            async with asyncio.TaskGroup() as waits:
                while time.time() < stop_at:
                    await slots.acquire()
                    started = time.monotonic()
                    try:
                        submitted = await contract.submit_async("increment", [f"key{rng.randrange(keys)}"])
                    except ConsortiaError:  # refused at endorsement or submit
                        records.append((started, time.monotonic(), False))
                        slots.release()
                        continue
                    waits.create_task(committed(submitted, started, slots))

        # Commit statuses from one filtered-block stream, not a CommitStatus call each.
        async with network.watch_commits():
            await asyncio.sleep(max(0.0, start_at - time.time()))
            cpu_at_start = process_cpu()
            await asyncio.gather(*(client(os.getpid() * 1000 + n) for n in range(clients)))
            return records, process_cpu() - cpu_at_start


def network_variant(network_file: Path, directory: Path, max_message_count: int | None,
                    cpu_placement: str | None) -> Path:
    """A copy of the network file in `directory` whose blocks hold at most
    `max_message_count` transactions, and whose processes are placed as `cpu_placement`
    says, where given (chaincode paths made absolute, as they were relative to the
    original)."""
    spec = yaml.safe_load(network_file.read_text())
    if max_message_count:
        spec.setdefault("consensus", {}).setdefault("batch", {})["max_message_count"] = max_message_count
    if cpu_placement:
        spec["cpu_placement"] = cpu_placement
    for channel in spec.get("channels", []):
        for chaincode in channel.get("chaincodes", []):
            if "path" in chaincode:
                chaincode["path"] = str((network_file.parent / chaincode["path"]).resolve())
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / f"{network_file.stem}-variant.yaml"
    copy.write_text(yaml.safe_dump(spec, sort_keys=False))
    return copy


def process_cpu() -> float:
    times = os.times()
    return times.user + times.system


async def query_load(spec: Target, clients: int, keys: int, seconds: float) -> float:
    """Queries per second of `clients` evaluate loops."""
    signer = load_signing_identity(spec.msp, spec.msp_id)
    counts = [0] * clients
    async with aio.connect(spec.address, signer=signer, tls_root_ca=spec.tls_ca) as gateway:
        contract = gateway.get_network(spec.channel).get_contract(CHAINCODE)
        stop_at = time.monotonic() + seconds

        async def client(n: int) -> None:
            rng = random.Random(n)
            while time.monotonic() < stop_at:
                await contract.evaluate_transaction("read", f"key{rng.randrange(keys)}")
                counts[n] += 1

        await asyncio.gather(*(client(n) for n in range(clients)))
    return sum(counts) / seconds


CHAINCODE_PROCESSES = "chaincode processes"


def node_pids(directory: Path) -> dict[str, int]:
    """The process of each node of the network directory, by node name."""
    return {pid_file.parent.name: int(json.loads(pid_file.read_text())["pid"])
            for pid_file in sorted((directory / "nodes").glob("*/node.pid"))}


def node_figures(directory: Path, figure: procstats.Figure) -> dict[str, float]:
    """`figure` of each node's process of the network directory, and summed over the
    chaincode processes the peers launched (children of a node)."""
    nodes = {pid: name for name, pid in node_pids(directory).items()}
    found = procstats.node_figures(nodes, figure, lambda _: CHAINCODE_PROCESSES)
    found.setdefault(CHAINCODE_PROCESSES, 0.0)
    return found


def peak_memory(directory: Path) -> dict[str, float]:
    """VmHWM in MB of each node, and of all chaincode processes together."""
    return node_figures(directory, procstats.peak_mb)


def cpu_seconds(directory: Path) -> dict[str, float]:
    """User and system CPU seconds each node (and the chaincode processes) used so far."""
    return node_figures(directory, procstats.cpu_seconds)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def cpu_ms_per(unit: str, before: dict[str, float], after: dict[str, float], count: float) -> dict[str, float]:
    """CPU milliseconds each process (by name) spent per `unit`, between two readings."""
    return {f"cpu_ms_per_{unit} {name}": (after[name] - before.get(name, 0.0)) * 1000 / count for name in after}


def run_once(args: argparse.Namespace, spec: Target, directory: Path) -> dict[str, float]:
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3  # time for every process to connect
    stop_at = start_at + args.warmup + args.duration
    per_process = max(1, args.clients // args.processes)
    workers = [ctx.Process(target=load_process, args=(spec, per_process, args.window, args.keys, start_at, stop_at, out))
               for _ in range(args.processes)]
    for worker in workers:
        worker.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu_before = cpu_seconds(directory)
    reports = [out.get() for _ in workers]
    cpu_after = cpu_seconds(directory)
    for worker in workers:
        worker.join()
    records = [record for report, _ in reports for record in report]
    finished = max(1, sum(1 for r in records if start_at <= r[1]))  # valid or not, each cost a full round
    cpu_ms = cpu_ms_per("tx", cpu_before, cpu_after, finished)
    cpu_ms["cpu_ms_per_tx load generators"] = sum(cpu for _, cpu in reports) * 1000 / finished
    measured_from = start_at + args.warmup
    inside = [r for r in records if measured_from <= r[1] < stop_at]
    valid = [r for r in inside if r[2]]
    latencies = [c - s for s, c, v in records if v and s >= measured_from]
    query_cpu_before, client_cpu_before = cpu_seconds(directory), process_cpu()
    queries_per_s = grpcenv.run(query_load(spec, args.query_clients, args.keys, args.query_duration))
    query_cpu_after, client_cpu_after = cpu_seconds(directory), process_cpu()
    queries = max(1.0, queries_per_s * args.query_duration)
    query_cpu_ms = cpu_ms_per("query", query_cpu_before, query_cpu_after, queries)
    query_cpu_ms["cpu_ms_per_query query clients"] = (client_cpu_after - client_cpu_before) * 1000 / queries
    return {
        "committed_tx_per_s": len(valid) / args.duration,
        "invalid_per_s": (len(inside) - len(valid)) / args.duration,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p95_ms": percentile(latencies, 0.95) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        **cpu_ms,
        "queries_per_s": queries_per_s,
        **query_cpu_ms,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--network", type=Path, default=DEFAULT_NETWORK)
    parser.add_argument("--duration", type=seconds, default=20.0, help="measured seconds of load per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    parser.add_argument("--clients", type=positive_int, default=64)
    parser.add_argument("--processes", type=positive_int, default=2)
    parser.add_argument("--window", type=positive_int, default=4, help="transactions in flight per client")
    parser.add_argument("--keys", type=positive_int, default=1000)
    parser.add_argument("--query-clients", type=positive_int, default=16)
    parser.add_argument("--query-duration", type=seconds, default=10.0)
    parser.add_argument("--runs", type=positive_int, default=1)
    parser.add_argument("--max-message-count", type=positive_int, help="cut blocks at this many transactions instead")
    parser.add_argument("--dir", type=Path, help="network directory (default: a temporary one, removed after)")
    parser.add_argument("--cpu-placement", choices=("spread", "none"),
                        help="how network up places the processes on CPUs (default: as the network file says)")
    args = parser.parse_args()

    directory = args.dir or Path(tempfile.mkdtemp(prefix="consortia-e2e-"))
    network_file = args.network
    if args.max_message_count or args.cpu_placement:
        network_file = network_variant(args.network, directory, args.max_message_count, args.cpu_placement)
    cli = [sys.executable, "-m", "consortia.cli.main"]
    started = time.monotonic()
    subprocess.run([*cli, "network", "up", str(network_file), "--dir", str(directory)], check=True,
                   stdout=subprocess.DEVNULL)
    up_seconds = time.monotonic() - started
    try:
        spec = target(network_file, directory)
        results = []
        for run in range(1, args.runs + 1):
            figures = run_once(args, spec, directory)
            results.append(figures)
            print(f"run {run}: " + ", ".join(f"{k} {v:,.2f}" if k.startswith("cpu") else f"{k} {v:,.0f}"
                                             for k, v in figures.items()), flush=True)
        memory = peak_memory(directory)
    finally:
        subprocess.run([*cli, "network", "down", "--dir", str(directory), "--clean"], check=False,
                       stdout=subprocess.DEVNULL)
    medians = {key: statistics.median(r[key] for r in results) for key in results[0]}
    batching = f", blocks of at most {args.max_message_count}" if args.max_message_count else ""
    placement = f", cpu_placement {args.cpu_placement}" if args.cpu_placement else ""
    print(f"\n{args.network.name}{batching}{placement}: {args.clients} clients x window {args.window} on {args.keys} keys, "
          f"{args.duration:g} s measured per run, {args.runs} run(s); medians:")
    print(f"  committed (valid) transactions/s  {medians['committed_tx_per_s']:8.0f}")
    print(f"  invalid (MVCC conflicts)/s        {medians['invalid_per_s']:8.0f}")
    print(f"  latency p50 / p95 / p99 (ms)      {medians['p50_ms']:8.0f} / {medians['p95_ms']:.0f} / "
          f"{medians['p99_ms']:.0f}")
    print(f"  queries/s ({args.query_clients} clients)            {medians['queries_per_s']:8.0f}")
    print(f"  network up                        {up_seconds:8.1f} s")
    for prefix, label in (("cpu_ms_per_tx ", "transaction"), ("cpu_ms_per_query ", "query")):
        for key, ms in medians.items():
            if key.startswith(prefix):
                print(f"  CPU per {label} {key.removeprefix(prefix):<{38 - len(label)}} {ms:6.2f} ms")
    for name, mb in memory.items():
        print(f"  peak memory {name:<34} {mb:6.0f} MB")
    print(json.dumps({"medians": medians, "network_up_s": up_seconds, "peak_memory_mb": memory}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
