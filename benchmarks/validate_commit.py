"""Peer validation and commit: blocks of transactions with two endorsements each.

    python benchmarks/validate_commit.py [--blocks 20] [--block-size 100] [--runs 3]

Each transaction is signed by its client and endorsed by the peers of two orgs
(AND of both is the channel's endorsement policy); it reads one key at its committed
version and writes it back (read-modify-write). The blocks are built and signed first;
the clock then runs over TxValidator.validate and PeerLedger.commit (fsync included)
for every block, on a fresh ledger per run. Prints transactions/s and the CPU time per
transaction for each run, and the median transactions/s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml
from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.peer import chaincode_pb2, proposal_response_pb2

from consortia import cryptogen
from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import genesis_block
from consortia.cli.argtypes import positive_int
from consortia.config.network import load_network
from consortia.msp.layout import load_signing_identity
from consortia.protoutil import block as blocks
from consortia.protoutil.proposal import create_proposal, sign_proposal, unpack_proposal
from consortia.protoutil.response import create_proposal_response
from consortia.protoutil.transaction import create_signed_transaction
from peer.committer.validator import TxValidator
from peer.ledger.kvledger import PeerLedger

KEYS = 1000


def network(base: Path) -> Path:
    spec = {
        "name": "bench",
        "organizations": [{"name": f"Org{i}", "msp_id": f"Org{i}MSP", "domain": f"org{i}.example.com"} for i in (1, 2)],
        "channels": [{"name": "bench", "organizations": ["Org1MSP", "Org2MSP"],
                      "endorsement_policy": "AND('Org1MSP.peer', 'Org2MSP.peer')"}],
    }
    (base / "network.yaml").write_text(yaml.safe_dump(spec))
    return base / "network.yaml"


def rwset(key: str, version: tuple[int, int] | None, value: bytes) -> bytes:
    read = kv_rwset_pb2.KVRead(key=key)
    if version is not None:
        read.version.CopyFrom(kv_rwset_pb2.Version(block_num=version[0], tx_num=version[1]))
    kv = kv_rwset_pb2.KVRWSet(reads=[read], writes=[kv_rwset_pb2.KVWrite(key=key, value=value)])
    return bytes(rwset_pb2.TxReadWriteSet(
        data_model=rwset_pb2.TxReadWriteSet.KV,
        ns_rwset=[rwset_pb2.NsReadWriteSet(namespace="asset", rwset=kv.SerializeToString())],
    ).SerializeToString())


def build_chain(crypto: Path, genesis: common_pb2.Block, count: int, size: int) -> list[common_pb2.Block]:
    client = load_signing_identity(crypto / "peerOrganizations/org1.example.com/users/User1@org1.example.com/msp", "Org1MSP")
    endorsers = [
        load_signing_identity(crypto / f"peerOrganizations/org{i}.example.com/peers/peer0.org{i}.example.com/msp", f"Org{i}MSP")
        for i in (1, 2)
    ]
    orderer = load_signing_identity(
        crypto / "ordererOrganizations/orderer.example.com/orderers/orderer0.orderer.example.com/msp", "OrdererMSP"
    )
    versions: dict[str, tuple[int, int]] = {}
    chain = [genesis]
    for number in range(1, count + 1):
        keys = [f"key{(number * size + i) % KEYS}" for i in range(size)]
        envelopes = []
        for index, key in enumerate(keys):
            proposal, _ = create_proposal("bench", "asset", [b"transfer", key.encode()], client.serialize())
            unpacked = unpack_proposal(sign_proposal(proposal, client))
            results = rwset(key, versions.get(key), f"value-{number}-{index}".encode())
            responses = [
                create_proposal_response(
                    unpacked, results=results, response=proposal_response_pb2.Response(status=200),
                    chaincode_id=chaincode_pb2.ChaincodeID(name="asset", version="1"), endorser=e,
                )
                for e in endorsers
            ]
            envelopes.append(create_signed_transaction(unpacked, responses, client).SerializeToString())
            versions[key] = (number, index)
        block = blocks.new_block(number, blocks.header_hash(chain[-1].header), envelopes)
        blocks.sign_block(block, orderer, last_config_index=0)
        chain.append(block)
    return chain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=positive_int, default=20)
    parser.add_argument("--block-size", type=positive_int, default=100, help="transactions per block")
    parser.add_argument("--runs", type=positive_int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        net = load_network(network(root))
        cryptogen.generate(net, root / "crypto")
        genesis = genesis_block(build_channel_config(net, "bench", root / "crypto"))
        chain = build_chain(root / "crypto", genesis, args.blocks, args.block_size)
        serialized = [b.SerializeToString() for b in chain]
        rates = []
        for run in range(args.runs):
            ledger = PeerLedger(root / f"ledger-{run}")
            fresh = [common_pb2.Block.FromString(s) for s in serialized]
            bundle = ChannelBundle.from_config(build_channel_config(net, "bench", root / "crypto"))
            validator = TxValidator(bundle, ledger.state())
            result = validator.validate(fresh[0])
            ledger.commit(fresh[0], result.codes, result.updates, result.history, result.tx_ids())
            start, cpu_start = time.perf_counter(), time.process_time()
            valid = 0
            for block in fresh[1:]:
                result = validator.validate(block)
                ledger.commit(block, result.codes, result.updates, result.history, result.tx_ids())
                valid += sum(1 for c in result.codes if c == 0)
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
            total = args.blocks * args.block_size
            rates.append(total / elapsed)
            print(f"run {run + 1}: {total} transactions ({valid} valid) in {elapsed:.2f}s = {total / elapsed:,.0f} tx/s, "
                  f"CPU {cpu / total * 1000:.3f} ms a transaction")
            ledger.close()
        print(f"median: {statistics.median(rates):,.0f} tx/s over {args.runs} runs "
              f"(blocks of {args.block_size}, 2 endorsements each, read-modify-write, one process)")


if __name__ == "__main__":
    main()
