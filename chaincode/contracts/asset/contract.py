"""AssetContract: the smallest useful contract, for integration tests and benchmarks.

An asset is `{"id", "owner", "value"}` stored as compact sorted-key JSON under its id.
Everything it does depends only on its arguments and the ledger (no clock, no
randomness), so every endorser produces the same read-write set and payload.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from chaincode.contract import Context, Contract, ContractError, transaction

ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")  # DOMAIN.md §0: client-supplied identifiers


@dataclass(frozen=True)
class Asset:
    id: str
    owner: str
    value: int

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Asset:
        data = json.loads(raw)
        return cls(id=data["id"], owner=data["owner"], value=data["value"])


class AssetContract(Contract):
    """Create, read, transfer and delete simple assets."""

    name = "AssetContract"

    @transaction
    def create(self, ctx: Context, asset_id: str, owner: str, value: int) -> None:
        """Write a new asset and emit AssetCreated (payload: the asset's JSON)."""
        _check_id(asset_id, "asset_id")
        if not owner:
            raise ContractError("owner must not be empty", "ERR_INVALID_ARGUMENT")
        if value < 0:
            raise ContractError(f"value must be zero or more, found {value}", "ERR_INVALID_ARGUMENT")
        if ctx.stub.get_state(asset_id):
            raise ContractError(f"asset {asset_id} already exists", "ERR_CONFLICT")
        asset = Asset(asset_id, owner, value)
        ctx.stub.put_state(asset_id, asset.to_bytes())
        ctx.stub.set_event("AssetCreated", asset.to_bytes())

    @transaction(submit=False)
    def read(self, ctx: Context, asset_id: str) -> dict[str, Any]:
        return asdict(_load(ctx, asset_id))

    @transaction
    def transfer(self, ctx: Context, asset_id: str, new_owner: str) -> None:
        """Give the asset to `new_owner` (no ownership check: this contract is a sample)."""
        if not new_owner:
            raise ContractError("new_owner must not be empty", "ERR_INVALID_ARGUMENT")
        asset = _load(ctx, asset_id)
        ctx.stub.put_state(asset_id, Asset(asset.id, new_owner, asset.value).to_bytes())

    @transaction
    def delete(self, ctx: Context, asset_id: str) -> None:
        _load(ctx, asset_id)
        ctx.stub.del_state(asset_id)

    @transaction(submit=False)
    def exists(self, ctx: Context, asset_id: str) -> bool:
        return bool(ctx.stub.get_state(asset_id))

    @transaction(submit=False)
    def list_by_range(self, ctx: Context, start: str, end: str) -> list[dict[str, Any]]:
        """Assets with ids in [start, end), in id order; '' leaves that end open."""
        with ctx.stub.get_state_by_range(start, end) as results:
            return [asdict(Asset.from_bytes(kv.value)) for kv in results]


def _check_id(asset_id: str, what: str) -> None:
    if not ID_PATTERN.fullmatch(asset_id):
        raise ContractError(f"{what} must match [A-Za-z0-9._-]{{1,64}}, found {asset_id!r}", "ERR_INVALID_ARGUMENT")


def _load(ctx: Context, asset_id: str) -> Asset:
    raw = ctx.stub.get_state(asset_id)
    if not raw:
        raise ContractError(f"asset {asset_id} does not exist", "ERR_NOT_FOUND")
    return Asset.from_bytes(raw)
