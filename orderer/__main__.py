"""`python -m orderer --config FILE`: run an ordering node."""

import sys

from orderer.node import main

sys.exit(main())
