"""`python -m chaincode serve ...`: see chaincode.cli."""

import sys

from consortia.grpcenv import prefer_direct_io

prefer_direct_io()  # before grpc loads

from chaincode.cli import main  # noqa: E402

sys.exit(main())
