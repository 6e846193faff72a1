"""Fabric 2.x's chaincode lifecycle, the parts client and peer share: the package
format and the definitions organizations agree on."""
