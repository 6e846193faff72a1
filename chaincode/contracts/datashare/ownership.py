"""ownership.claim, ownership.confirm, ownership.dispute (DOMAIN.md §5.2).

The owner of an asset claims rights over it (hold, use, process, operate); a majority of
the governing departments (with the owner's peer) confirms. A dispute by a department
or an enterprise blocks new grants until the claim is confirmed again.
"""

from __future__ import annotations

from chaincode.contract import Context, transaction

from .common import (
    AST,
    EMITTERS,
    OFFICER_ROLES,
    OWN,
    Store,
    caller,
    check_hash,
    check_id,
    emit,
    fail,
    now,
    owner,
    string_set,
)

RIGHTS = ("HOLD", "USE", "PROCESS", "OPERATE")
CLAIMED, CONFIRMED, DISPUTED = "CLAIMED", "CONFIRMED", "DISPUTED"


class OwnershipTransactions:
    """Transactions of the ownership contract: claim, confirm, dispute."""

    @transaction
    def claim(self, ctx: Context, asset_id: str, rights_json: str, evidence_hash: str) -> None:
        """`OWN~{asset_id}` = {"asset_id", "holder_msp", "holder_entity", "rights",
        "evidence_hash", "status": "CLAIMED", "claimed_at"} (the asset's owner;
        ERR_CONFLICT if claimed already). Touches `ORG~{owner}`."""
        check_id(asset_id, "asset_id")
        rights = string_set(rights_json, "rights_json", allowed=RIGHTS)
        check_hash(evidence_hash, "evidence_hash")
        store = Store(ctx)
        asset = store.need(AST, asset_id)
        owner(ctx, asset, f"asset {asset_id}")
        store.create(OWN, asset_id, record={
            "asset_id": asset_id, "holder_msp": asset["owner_msp"], "holder_entity": asset["owner_entity"],
            "rights": rights, "evidence_hash": evidence_hash, "status": CLAIMED, "claimed_at": now(ctx).isoformat()})
        store.touch_org(asset["owner_msp"])
        emit(ctx, "OwnershipClaimed", {"asset_id": asset_id, "rights": rights, "evidence_hash": evidence_hash})

    @transaction
    def confirm(self, ctx: Context, asset_id: str) -> None:
        """CLAIMED or DISPUTED -> CONFIRMED (a GOV officer; ERR_CONFLICT if confirmed).
        Touches `GOV~config` and `ORG~{owner}`: owner AND majority endorse."""
        check_id(asset_id, "asset_id")
        caller(ctx, OFFICER_ROLES)
        store = Store(ctx)
        claim = store.need(OWN, asset_id)
        if claim["status"] == CONFIRMED:
            raise fail("ERR_CONFLICT", f"ownership of {asset_id} must be CLAIMED or DISPUTED, found CONFIRMED")
        claim.update(status=CONFIRMED, confirmed_at=now(ctx).isoformat())
        store.put(OWN, asset_id, record=claim)
        store.touch_gov()
        store.touch_org(claim["holder_msp"])
        emit(ctx, "OwnershipConfirmed", {"asset_id": asset_id})

    @transaction
    def dispute(self, ctx: Context, asset_id: str, evidence_hash: str) -> None:
        """CLAIMED or CONFIRMED -> DISPUTED (a GOV officer or an emitter; ERR_CONFLICT if
        disputed already), with "disputed_by" and "dispute_evidence_hash". Touches
        `GOV~config`."""
        check_id(asset_id, "asset_id")
        check_hash(evidence_hash, "evidence_hash")
        who = caller(ctx, OFFICER_ROLES, EMITTERS)
        store = Store(ctx)
        claim = store.need(OWN, asset_id)
        if claim["status"] == DISPUTED:
            raise fail("ERR_CONFLICT", f"ownership of {asset_id} is DISPUTED already")
        claim.update(status=DISPUTED, disputed_by=who.msp_id, dispute_evidence_hash=evidence_hash,
                     disputed_at=now(ctx).isoformat())
        store.put(OWN, asset_id, record=claim)
        store.touch_gov()
        emit(ctx, "OwnershipDisputed", {"asset_id": asset_id, "evidence_hash": evidence_hash})
