"""The chaincode runtime (shim, contract API, chaincode-as-a-service) and the bundled
contracts. Depends only on `fabric_protos` and the small part of `consortia` it needs,
so a contract package stays light.
"""
