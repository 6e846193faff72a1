"""Consortia: a consortium blockchain framework, wire-compatible with Hyperledger Fabric.

This package is the shared kernel every node builds on (identities, policies, Fabric
message utilities, configuration) plus the user-facing tools (`consortia` command,
client SDK, network launcher). The nodes live beside it in `peer`, `orderer` and
`chaincode`, and depend on it, never the other way round.
"""

__version__ = "0.1.0"
