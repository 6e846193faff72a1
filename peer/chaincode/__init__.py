"""Chaincode support on the peer: the chaincode processes it runs or connects to, and
the peer's side of the ChaincodeMessage protocol that serves their requests."""
