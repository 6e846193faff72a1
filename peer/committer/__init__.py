"""Validation and commit: decide each transaction's validation code, then apply the
write sets of the valid ones to the ledger with the block."""
