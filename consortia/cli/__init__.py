"""The `consortia` command: one sub-command module per noun (crypto, config, ...)."""
