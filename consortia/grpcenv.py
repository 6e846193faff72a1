"""How gRPC's core moves bytes in our node processes, set before `grpc` is imported:
the core reads its settings once, when it loads.

grpcio's default transport (its EventEngine listener and client) hands each read and
write between threads of its own; the older iomgr transport, which grpcio still ships,
does them on the thread that polls. When every process of a network shares two cores,
those hops cost more than they give: with the two experiments off, a gRPC call or
stream message costs about a sixth less CPU, and a transaction through the whole
network about a tenth (benchmarks/e2e.py, same machine, runs interleaved).

A GRPC_EXPERIMENTS the user set is left as it is. A grpcio that no longer knows these
experiments logs one "Unknown experiment" line and runs as it would anyway.

Dependency-free on purpose: the nodes' entry points call it first, chaincode included.
"""

from __future__ import annotations

import os

DIRECT_IO = "-event_engine_listener,-event_engine_client"


def prefer_direct_io() -> None:
    """Use iomgr's transport in this process (and the processes it starts), unless the
    user chose gRPC's experiments themselves."""
    os.environ.setdefault("GRPC_EXPERIMENTS", DIRECT_IO)
