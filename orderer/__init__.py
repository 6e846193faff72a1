"""The ordering node: broadcast, block cutting, consensus, signed blocks, deliver,
and its block store. Depends on the `consortia` kernel only.
"""
