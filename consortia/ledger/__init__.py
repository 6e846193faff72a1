"""Storage shared by the nodes: the append-only block store, the source of truth."""
