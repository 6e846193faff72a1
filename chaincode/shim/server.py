"""Running a chaincode: connected to a peer, or as a service the peer connects to.

Classic mode (`connect`): the chaincode dials the peer's chaincode listener and calls
`protos.ChaincodeSupport/Register`; when the stream ends the chaincode process ends too,
and the peer that launched it starts it again.

Chaincode-as-a-service (`serve`): the chaincode listens and the peer calls
`protos.Chaincode/Connect`; each connection gets its own handler.

Either way the chaincode sends REGISTER first and the same protocol follows.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import grpc
from fabric_protos.peer import chaincode_shim_pb2, chaincode_shim_pb2_grpc

from chaincode.shim.handler import Handler
from chaincode.shim.interfaces import Chaincode

log = logging.getLogger(__name__)

MAX_MESSAGE = 110 * 1024 * 1024
OPTIONS = [("grpc.max_send_message_length", MAX_MESSAGE), ("grpc.max_receive_message_length", MAX_MESSAGE)]


async def connect(address: str, chaincode_id: str, chaincode: Chaincode, *, root_ca: bytes | None = None,
                  client_cert: bytes | None = None, client_key: bytes | None = None) -> None:
    """Register with the peer at `address` and serve it until the stream ends."""
    if root_ca is None:
        channel = grpc.aio.insecure_channel(address, options=OPTIONS)
    else:
        channel = grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(root_ca, client_key, client_cert),
                                          options=OPTIONS)
    async with channel:
        call = chaincode_shim_pb2_grpc.ChaincodeSupportStub(channel).Register()
        handler = Handler(chaincode_id, chaincode, call.write)
        try:
            await handler.chat(call)
        finally:
            call.cancel()
    log.info("chaincode %s: the peer at %s closed the stream", chaincode_id, address)


class _ChaincodeService(chaincode_shim_pb2_grpc.ChaincodeServicer):
    def __init__(self, chaincode_id: str, chaincode: Chaincode) -> None:
        self.chaincode_id = chaincode_id
        self.chaincode = chaincode

    async def Connect(self, requests: AsyncIterator[chaincode_shim_pb2.ChaincodeMessage],
                      context: grpc.aio.ServicerContext) -> None:
        handler = Handler(self.chaincode_id, self.chaincode, context.write)
        await handler.chat(requests)
        log.info("chaincode %s: a peer disconnected", self.chaincode_id)


async def serve(address: str, chaincode_id: str, chaincode: Chaincode, *, cert: bytes | None = None,
                key: bytes | None = None, client_root_ca: bytes | None = None) -> None:
    """Serve chaincode-as-a-service at `address` until cancelled."""
    server = grpc.aio.server(options=OPTIONS)
    chaincode_shim_pb2_grpc.add_ChaincodeServicer_to_server(_ChaincodeService(chaincode_id, chaincode), server)
    if cert is not None and key is not None:
        credentials = grpc.ssl_server_credentials([(key, cert)], root_certificates=client_root_ca,
                                                  require_client_auth=client_root_ca is not None)
        server.add_secure_port(address, credentials)
    else:
        server.add_insecure_port(address)
    await server.start()
    log.info("chaincode %s serving at %s", chaincode_id, address)
    try:
        await server.wait_for_termination()
    finally:
        await server.stop(2)
