"""gRPC settings every Consortia endpoint shares: message limits, TLS, listening.

Blocks can be as large as a channel's AbsoluteMaxBytes (up to 100 MB), far above
gRPC's 4 MB default, so servers and clients raise their limits alike.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from consortia.config.node import TLSSettings
from consortia.errors import ConsortiaError

MAX_MESSAGE_BYTES = 110 * 1024 * 1024
OPTIONS: list[tuple[str, int | str]] = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
    # A node that restarts is back within seconds: reconnect as soon (gRPC's default
    # backoff grows to two minutes, long after a restarted peer serves again).
    ("grpc.initial_reconnect_backoff_ms", 500),
    ("grpc.min_reconnect_backoff_ms", 500),
    ("grpc.max_reconnect_backoff_ms", 5_000),
    ("grpc.keepalive_time_ms", 60_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
]


class ListenError(ConsortiaError):
    """A server could not listen where it was told to."""


def server_credentials(tls: TLSSettings) -> grpc.ServerCredentials | None:
    if not tls.enabled:
        return None
    assert tls.cert is not None and tls.key is not None  # checked when the config loaded
    roots = b"".join(Path(p).read_bytes() for p in tls.client_root_cas) or None
    return grpc.ssl_server_credentials(
        [(tls.key.read_bytes(), tls.cert.read_bytes())],
        root_certificates=roots,
        require_client_auth=tls.client_auth,
    )


def listen(server: grpc.aio.Server, address: str, credentials: grpc.ServerCredentials | None) -> int:
    """Bind `server` to `address`; ListenError saying why not (e.g. the port is taken)."""
    try:
        port = (
            server.add_secure_port(address, credentials)
            if credentials is not None
            else server.add_insecure_port(address)
        )
    except RuntimeError as exc:
        raise ListenError(f"cannot listen on {address}: the address is in use or not available ({exc})") from exc
    if port == 0:
        raise ListenError(f"cannot listen on {address}: the address is in use or not available")
    return int(port)


def channel(address: str, *, root_ca: bytes | None = None, client_cert: bytes | None = None,
            client_key: bytes | None = None, server_name: str | None = None) -> grpc.aio.Channel:
    """A client channel, TLS when a root CA is given (mutual when a client pair is too)."""
    options: list[tuple[str, int | str]] = list(OPTIONS)
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    if root_ca is None:
        return grpc.aio.insecure_channel(address, options=options)
    credentials = grpc.ssl_channel_credentials(root_ca, client_key, client_cert)
    return grpc.aio.secure_channel(address, credentials, options=options)
