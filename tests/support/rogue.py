"""A stand-in orderer that serves whatever blocks a test gives it, good or bad.

It listens where the channel configuration says the orderer is, answers Deliver with
the blocks it holds from the requested number on, and keeps the stream open for blocks
added later. Tests use it to feed a peer tampered blocks, or well-signed blocks holding
transactions a real orderer would never have accepted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.orderer import ab_pb2

from consortia.grpcutil import MAX_MESSAGE_BYTES
from consortia.msp.signing import SigningIdentity
from consortia.protoutil import block as blocks


class RogueOrderer:
    def __init__(self, address: str, genesis: common_pb2.Block) -> None:
        self.address = address
        self.blocks = [genesis]
        self.requests: list[int] = []  # start numbers asked for
        self._lock = threading.Lock()
        self._server = grpc.server(
            futures.ThreadPoolExecutor(8),
            options=[("grpc.max_send_message_length", MAX_MESSAGE_BYTES), ("grpc.so_reuseport", 0)],
        )
        handler = grpc.method_handlers_generic_handler(
            "orderer.AtomicBroadcast",
            {"Deliver": grpc.stream_stream_rpc_method_handler(
                self._deliver, request_deserializer=common_pb2.Envelope.FromString,
                response_serializer=ab_pb2.DeliverResponse.SerializeToString)},
        )
        self._server.add_generic_rpc_handlers([handler])
        self._server.add_insecure_port(address)

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self._server.stop(0)

    def add(self, block: common_pb2.Block) -> None:
        with self._lock:
            self.blocks.append(block)

    def next_block(self, envelopes: list[bytes], signer: SigningIdentity) -> common_pb2.Block:
        """A correctly chained block over `envelopes`, signed by `signer`."""
        previous = self.blocks[-1]
        block = blocks.new_block(len(self.blocks), blocks.header_hash(previous.header), envelopes)
        blocks.sign_block(block, signer, last_config_index=0)
        return block

    def _deliver(self, requests: Iterator[common_pb2.Envelope], context: grpc.ServicerContext) -> Iterator[ab_pb2.DeliverResponse]:
        envelope = next(requests)
        payload = common_pb2.Payload.FromString(envelope.payload)
        seek = ab_pb2.SeekInfo.FromString(payload.data)
        number = seek.start.specified.number
        self.requests.append(number)
        while context.is_active():
            with self._lock:
                ready = self.blocks[number:]
            for block in ready:
                yield ab_pb2.DeliverResponse(block=block)
                number += 1
            time.sleep(0.05)
