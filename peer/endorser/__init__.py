"""Endorsement: run a proposal's chaincode against committed state and sign the result."""
