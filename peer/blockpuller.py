"""Pulling a channel's blocks from its orderers, trusting none of them blindly.

The puller asks one orderer of the channel (from the channel configuration) for every
block from the ledger's height on, and checks each before handing it over: its number
follows the chain, its previous hash is the hash of our last block, its data hash
matches its data, and its orderer signatures satisfy the channel's BlockValidation
policy. A block that fails is refused with the reason logged, and the puller moves on
to another orderer; so does a broken connection, with a growing back-off.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2, ab_pb2_grpc

from consortia.channelconfig.bundle import ChannelBundle
from consortia.delivery import FOREVER
from consortia.errors import ConsortiaError, IdentityError, MessageError, SignatureError
from consortia.grpcutil import channel
from consortia.msp.signing import SigningIdentity, verify_signed_data
from consortia.policy.paths import BLOCK_VALIDATION
from consortia.protoutil import block as blocks
from consortia.protoutil.envelope import create_signed_envelope, enum_name

log = logging.getLogger(__name__)


class BlockRefused(ConsortiaError):
    """A block from an orderer fails a check; the message says which."""


@dataclass(frozen=True)
class ClientTLS:
    """How the peer connects to orderers over TLS (the roots come from the channel config)."""

    cert: bytes | None = None
    key: bytes | None = None


def verify_block(block: common_pb2.Block, number: int, previous_hash: bytes, bundle: ChannelBundle) -> None:
    """Check a pulled block; BlockRefused saying what is wrong with it."""
    try:
        blocks.check_chain(block, number, previous_hash)
    except MessageError as exc:
        raise BlockRefused(str(exc)) from exc
    signers = []
    try:
        signatures = blocks.block_signatures(block)
    except MessageError as exc:
        raise BlockRefused(str(exc)) from exc
    for signed in signatures:
        try:
            identity = verify_signed_data(signed, bundle.msp_manager)
            bundle.msp_manager.validate(identity)
        except (IdentityError, SignatureError) as exc:
            log.warning("block %d: ignoring an orderer signature: %s", number, exc)
            continue
        signers.append(identity)
    verdict = bundle.policies.evaluate(BLOCK_VALIDATION, signers)
    if not verdict:
        raise BlockRefused(f"block {number} is not signed as the channel requires: {verdict.reason}")


class BlockPuller:
    def __init__(
        self,
        bundle: ChannelBundle,
        signer: SigningIdentity,
        position: Callable[[], tuple[int, bytes]],
        tls: ClientTLS | None = None,
        max_backoff: float = 5.0,
    ) -> None:
        self.bundle = bundle
        self.signer = signer
        self.position = position  # (next block number, header hash of the last block)
        self.tls = tls
        self.max_backoff = max_backoff
        config = bundle.config.orderer
        self.endpoints = [f"{c.host}:{c.port}" for c in config.consenters] or [
            f"{e.host}:{e.port}" for org in config.organizations for e in org.endpoints
        ]
        self._tls_roots = b"".join(r for org in config.organizations for r in org.msp.tls_root_certs)

    def _seek(self, start: int) -> common_pb2.Envelope:
        info = ab_pb2.SeekInfo(
            start=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=start)),
            stop=ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=FOREVER)),
            behavior=ab_pb2.SeekInfo.BLOCK_UNTIL_READY,
        )
        return create_signed_envelope(
            common_pb2.DELIVER_SEEK_INFO, self.bundle.channel_id, self.signer, info.SerializeToString()
        )

    def _channel(self, address: str) -> grpc.aio.Channel:
        if self.tls is None:
            return channel(address)
        return channel(address, root_ca=self._tls_roots, client_cert=self.tls.cert, client_key=self.tls.key)

    async def blocks(self) -> AsyncIterator[common_pb2.Block]:
        """Verified blocks in order, forever; each is handed over only after the previous
        one was consumed (committed)."""
        channel_id = self.bundle.channel_id
        index = random.randrange(len(self.endpoints)) if self.endpoints else 0
        failures = 0
        while True:
            if not self.endpoints:
                raise BlockRefused(f"channel {channel_id} lists no orderer endpoint")
            address = self.endpoints[index % len(self.endpoints)]
            start, previous = self.position()
            try:
                async with self._channel(address) as ch:
                    stub = ab_pb2_grpc.AtomicBroadcastStub(ch)

                    async def request() -> AsyncIterator[common_pb2.Envelope]:
                        yield self._seek(start)

                    log.info("[%s] pulling blocks from %d on, from orderer %s", channel_id, start, address)
                    async for response in stub.Deliver(request()):
                        if not response.HasField("block"):
                            log.warning("[%s] orderer %s ended the stream with status %s", channel_id, address,
                                        enum_name(common_pb2.Status, response.status))
                            break
                        number, previous = self.position()
                        verify_block(response.block, number, previous, self.bundle)
                        failures = 0
                        yield response.block
            except BlockRefused as exc:
                log.error("[%s] refused a block from orderer %s: %s", channel_id, address, exc)
            except grpc.aio.AioRpcError as exc:
                log.warning("[%s] orderer %s: %s (%s)", channel_id, address, exc.details(), exc.code().name)
            failures += 1
            index += 1
            delay = min(self.max_backoff, 0.1 * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0)
            await asyncio.sleep(delay)

