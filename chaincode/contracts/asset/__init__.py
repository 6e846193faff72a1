"""The sample asset contract package: one contract, AssetContract (see `contract`)."""

from .contract import AssetContract

contracts = [AssetContract()]

__all__ = ["AssetContract", "contracts"]
