"""Orderer throughput: client processes broadcast 1 KB signed envelopes to one orderer.

    python -m benchmarks.orderer_throughput [--clients 2] [--envelopes 20000] [--runs 3]

Prints, for each run, envelopes per second from the first send to the moment a deliver
client has received the block holding the last envelope, and the number of blocks;
then the median over the runs. Envelopes are signed before the clock starts (signing
is the client's cost); the orderer checks every signature and the Writers policy.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc
from fabric_protos.peer import chaincode_pb2, proposal_response_pb2

from consortia.grpcutil import channel
from consortia.msp.layout import load_signing_identity
from consortia.protoutil.envelope import create_signed_envelope
from consortia.protoutil.proposal import create_proposal, sign_proposal, unpack_proposal
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import create_signed_transaction

if __package__ in (None, ""):  # run as `python benchmarks/FILE.py`: the repository must be importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import CHANNEL, BenchNetwork  # noqa: E402
from consortia.cli.argtypes import positive_int  # noqa: E402

PAYLOAD = 1024


def make_envelopes(crypto: Path, count: int) -> list[bytes]:
    client = load_signing_identity(crypto / "peerOrganizations/org1.example.com/users/User1@org1.example.com/msp", "Org1MSP")
    peer = load_signing_identity(crypto / "peerOrganizations/org1.example.com/peers/peer0.org1.example.com/msp", "Org1MSP")
    out = []
    for n in range(count):
        proposal, _ = create_proposal(CHANNEL, "cc", [b"put", str(n).encode()], client.serialize())
        unpacked = unpack_proposal(sign_proposal(proposal, client))
        response = create_proposal_response(
            unpacked, results=os.urandom(PAYLOAD // 2).hex().encode()[:PAYLOAD],
            response=proposal_response_pb2.Response(status=200),
            chaincode_id=chaincode_pb2.ChaincodeID(name="cc", version="1"), endorser=peer,
        )
        out.append(create_signed_transaction(unpacked, [response], client).SerializeToString())
    return out


def client_process(address: str, crypto: str, count: int, ready: mp.Barrier, result: mp.Queue) -> None:  # type: ignore[type-arg]
    envelopes = make_envelopes(Path(crypto), count)

    async def send() -> int:
        async def requests():  # type: ignore[no-untyped-def]
            for raw in envelopes:
                yield raw

        ok = 0
        async with channel(address) as ch:
            call = ch.stream_stream("/orderer.AtomicBroadcast/Broadcast", request_serializer=lambda r: r,
                                    response_deserializer=ab_pb2.BroadcastResponse.FromString)
            async for answer in call(requests(), timeout=600):
                ok += answer.status == common_pb2.SUCCESS
        return ok

    ready.wait()
    result.put(asyncio.run(send()))


async def follow(address: str, signer, total: int, start_height: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    seek = ab_pb2.SeekInfo(start=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start_height)),
                           stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=2**64 - 1)))
    envelope = create_signed_envelope(common_pb2.DELIVER_SEEK_INFO, CHANNEL, signer, seek.SerializeToString())
    seen = blocks = 0

    async def requests():  # type: ignore[no-untyped-def]
        yield envelope

    async with channel(address) as ch:
        async for response in ab_pb2_grpc.AtomicBroadcastStub(ch).Deliver(requests(), timeout=900):
            if response.HasField("block"):
                blocks += 1
                seen += len(response.block.data.data)
                if seen >= total:
                    return time.monotonic(), blocks
    raise RuntimeError("deliver ended early")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=positive_int, default=2)
    parser.add_argument("--envelopes", type=positive_int, default=20000, help="in total, per run")
    parser.add_argument("--runs", type=positive_int, default=3)
    args = parser.parse_args()
    batch = {"max_message_count": 500, "timeout": "2s"}
    with tempfile.TemporaryDirectory() as tmp, BenchNetwork(Path(tmp), peers=False, batch=batch) as net:
        address, crypto = net.orderer_address, net.crypto
        reader = net.peer_identity("Org1MSP")
        rates = []
        height = 1
        per_client = args.envelopes // args.clients
        total = per_client * args.clients
        for run in range(args.runs):
            barrier = mp.Barrier(args.clients + 1)
            results: mp.Queue[int] = mp.Queue()
            workers = [mp.Process(target=client_process, args=(address, str(crypto), per_client, barrier, results))
                       for _ in range(args.clients)]
            for w in workers:
                w.start()
            barrier.wait()  # every client has signed its envelopes
            start = time.monotonic()
            end, blocks = asyncio.run(follow(address, reader, total, height))
            accepted = sum(results.get() for _ in workers)
            for w in workers:
                w.join()
            height += blocks
            rate = total / (end - start)
            rates.append(rate)
            print(f"run {run + 1}: {total} envelopes ({accepted} accepted) in {end - start:.2f}s = "
                  f"{rate:,.0f} envelopes/s, {blocks} blocks")
        print(f"median: {statistics.median(rates):,.0f} envelopes/s over {args.runs} runs "
              f"({args.clients} client processes, {PAYLOAD}-byte payloads, blocks of up to 500)")


if __name__ == "__main__":
    main()
