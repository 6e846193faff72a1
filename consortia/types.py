"""Named identifier types shared across the kernel and the nodes.

They cost nothing at run time; they make signatures say which string is which.
"""

from typing import NewType

ChannelId = NewType("ChannelId", str)
TxId = NewType("TxId", str)
MspId = NewType("MspId", str)
BlockNumber = NewType("BlockNumber", int)
