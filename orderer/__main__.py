"""`python -m orderer --config FILE`: run an ordering node."""

import sys

from consortia.grpcenv import prefer_direct_io

prefer_direct_io()  # before grpc loads

from orderer.node import main  # noqa: E402

sys.exit(main())
