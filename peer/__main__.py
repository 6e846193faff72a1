"""`python -m peer --config FILE`: run a peer."""

import sys

from peer.node import main

sys.exit(main())
