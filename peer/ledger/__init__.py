"""The peer's ledger: the block store (the source of truth) and, in SQLite, the world
state, history, transaction index and savepoint rebuilt from it; with the queries
chaincode runs on the state (ranges, rich JSON selectors, key history)."""
