"""Fabric 2.x chaincode lifecycle on the peer: `_lifecycle`, installed packages, definitions."""
