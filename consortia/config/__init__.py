"""Configuration: typed, validated objects loaded once from YAML.

`network` is the whole-network definition (`network-config/*.yaml`); `schema` is the
YAML-to-dataclass machinery that gives every error its file, line and field.
"""
