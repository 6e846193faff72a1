"""Channel ch1 without a network: crypto, genesis block and signed blocks of endorser
transactions, validated by the real TxValidator and committed to a PeerLedger.

Nothing here opens a socket or starts a process: the network file gets a fixed base
port that is never bound, so unit tests can use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml
from fabric_protos.common import common_pb2

from consortia import cryptogen
from consortia.channelconfig.build import build_channel_config
from consortia.channelconfig.bundle import ChannelBundle
from consortia.channelconfig.genesis import config_from_block, genesis_block
from consortia.config.network import load_network
from consortia.msp.layout import load_signing_identity
from consortia.msp.signing import SigningIdentity
from consortia.protoutil import block as blocks
from peer.committer.validator import TxValidator, ValidationResult
from peer.ledger.kvledger import PeerLedger
from tests.support.testnet import NETWORK
from tests.support.transactions import NsWrites, endorser_transaction

CHANNEL = "ch1"


@dataclass
class Channel:
    """Crypto and genesis block of ch1 (members Org1MSP and Org2MSP)."""

    genesis: bytes
    bundle: ChannelBundle
    client: SigningIdentity
    peers: tuple[SigningIdentity, SigningIdentity]
    orderer: SigningIdentity

    def tx(self, namespaces: dict[str, NsWrites], *, endorsers: list[SigningIdentity] | None = None,
           chaincode: str = "cc") -> common_pb2.Envelope:
        """A transaction of `chaincode` endorsed (by default) by both orgs' peers."""
        chosen = list(self.peers) if endorsers is None else endorsers
        return endorser_transaction(CHANNEL, chaincode, self.client, chosen, namespaces)

    def writes(self, writes: dict[str, bytes | None], **more: object) -> common_pb2.Envelope:
        """A transaction of chaincode cc that writes (None: deletes) keys of namespace cc."""
        return self.tx({"cc": NsWrites(writes=writes, **more)})  # type: ignore[arg-type]


def make_channel(root: Path) -> Channel:
    """Generate crypto for Org1, Org2 and the orderer under `root`, and ch1's genesis block."""
    root.mkdir(parents=True, exist_ok=True)
    spec = {**NETWORK, "base_port": 30000, "organizations": NETWORK["organizations"][:2],
            "channels": [c for c in NETWORK["channels"] if c["name"] == CHANNEL]}
    network_file = root / "network.yaml"
    network_file.write_text(yaml.safe_dump(spec, sort_keys=False))
    network = load_network(network_file)
    crypto = root / "crypto"
    cryptogen.generate(network, crypto)
    layout = cryptogen.CryptoLayout(crypto, network)

    def identity(msp_id: str, who: str) -> SigningIdentity:
        org = layout.org(msp_id)
        folder = org.node_dir(who) if who.startswith(("peer", "orderer")) else org.user_dir(who)
        return load_signing_identity(folder / "msp", msp_id)

    genesis = genesis_block(build_channel_config(network, CHANNEL, crypto))
    return Channel(
        genesis=bytes(genesis.SerializeToString()),
        bundle=ChannelBundle.from_config(config_from_block(genesis)),
        client=identity("Org1MSP", "User1"),
        peers=(identity("Org1MSP", "peer0"), identity("Org2MSP", "peer0")),
        orderer=identity("OrdererMSP", "orderer0"),
    )


@dataclass
class Chain:
    """Blocks of ch1 made one after another, as the orderer would cut and sign them."""

    channel: Channel
    made: list[common_pb2.Block] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.made:
            self.made.append(common_pb2.Block.FromString(self.channel.genesis))

    def next_block(self, envelopes: list[common_pb2.Envelope]) -> common_pb2.Block:
        """Block number len(made) over `envelopes`, signed by the orderer (no peer metadata)."""
        previous = blocks.header_hash(self.made[-1].header)
        block = blocks.new_block(len(self.made), previous, [e.SerializeToString() for e in envelopes])
        blocks.sign_block(block, self.channel.orderer, last_config_index=0)
        self.made.append(block)
        return fresh(block)


def fresh(block: common_pb2.Block) -> common_pb2.Block:
    """A copy of `block` (commit fills in metadata of the block it is given)."""
    return common_pb2.Block.FromString(block.SerializeToString())


def validate(channel: Channel, ledger: PeerLedger, block: common_pb2.Block) -> ValidationResult:
    return TxValidator(channel.bundle, ledger.state()).validate(block)


def commit(channel: Channel, ledger: PeerLedger, block: common_pb2.Block) -> ValidationResult:
    """Validate `block` against the ledger's state and commit it; the validation result."""
    result = validate(channel, ledger, block)
    ledger.commit(block, result.codes, result.updates, result.history)
    return result
