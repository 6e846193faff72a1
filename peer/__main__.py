"""`python -m peer --config FILE`: run a peer."""

import sys

from consortia.grpcenv import prefer_direct_io

prefer_direct_io()  # before grpc loads; the chaincode processes the peer starts inherit it

from peer.node import main  # noqa: E402

sys.exit(main())
