"""The peer node: endorser, gateway, deliver service, chaincode support, lifecycle,
validation and commit, and its ledger. Depends on the `consortia` kernel only.
"""
