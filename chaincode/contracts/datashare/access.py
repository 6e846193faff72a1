"""access.request, approve, reject, revoke, record_access, read_private, logs (DOMAIN.md §5.2).

A member asks for named fields of an asset for some days; the owner approves with an
expiry no later than the request's time plus those days (GENERAL data shared
UNCONDITIONALLY is granted at once). The grantee is the requesting organisation (for an
enterprise, the requesting entity). Each use of a grant is attested by the owner's peer
as an append-only `LOG~{asset}~{time}~{txid}`; the regulator or the owner may revoke a
grant at any time. NOT_SHARED (and so CORE) data never gets a grant (I11); a log is only
written under a grant that is ACTIVE and unexpired at that moment (I10).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    ACTIVE,
    AST,
    AUDITORS,
    CAT,
    EMITTER,
    EMITTERS,
    GENERAL,
    GRANT,
    IMPORTANT,
    LOG,
    MEE,
    MEMBERS,
    NOT_SHARED,
    OFFICER_ROLES,
    OWN,
    REGULATORS,
    REQ,
    STD,
    UNCONDITIONAL,
    Caller,
    Store,
    any_peer_of,
    caller,
    check_hash,
    check_id,
    check_text,
    emit,
    fail,
    is_owner,
    now,
    owner,
    parse_time,
    string_set,
)

MAX_DAYS = 365
PENDING, APPROVED, REJECTED, REVOKED = "PENDING", "APPROVED", "REJECTED", "REVOKED"


def shared_catalog(store: Store, asset: dict[str, Any]) -> dict[str, Any]:
    """The asset's catalog entry, unless it is NOT_SHARED (ERR_NOT_SHAREABLE)."""
    catalog = store.need(CAT, asset["catalog_id"])
    if catalog["share_type"] == NOT_SHARED:
        raise fail("ERR_NOT_SHAREABLE", f"asset {asset['asset_id']} is in catalog entry {catalog['catalog_id']}, "
                                        f"which is NOT_SHARED ({catalog['classification']})")
    return catalog


def grant_record(request: dict[str, Any], grant_id: str, expires_at: dt.datetime, at: dt.datetime) -> dict[str, Any]:
    return {"grant_id": grant_id, "request_id": request["request_id"], "asset_id": request["asset_id"],
            "grantee_msp": request["requester_msp"], "grantee_entity": request["requester_entity"],
            "fields": request["fields"], "expires_at": expires_at.isoformat(), "status": ACTIVE,
            "use_count": 0, "granted_at": at.isoformat()}


def usable_grant(ctx: Context, store: Store, grant_id: str) -> tuple[Caller, dict[str, Any]]:
    """The caller and grant `grant_id`, if the caller is its grantee and it is ACTIVE and
    unexpired at the transaction's time."""
    who = caller(ctx, MEMBERS)
    grant = store.need(GRANT, grant_id)
    if who.msp_id != grant["grantee_msp"] or (who.msp_id == EMITTER
                                              and who.attribute("entity_id") != grant["grantee_entity"]):
        raise fail("ERR_UNAUTHORIZED", f"grant {grant_id} is for {grant['grantee_msp']} "
                                       f"{grant['grantee_entity']}, not {who.msp_id} {who.attribute('entity_id')}")
    if grant["status"] == REVOKED:
        raise fail("ERR_GRANT_REVOKED", f"grant {grant_id} was revoked")
    if now(ctx) >= parse_time(grant["expires_at"], "expires_at"):
        raise fail("ERR_GRANT_EXPIRED", f"grant {grant_id} expired at {grant['expires_at']}, "
                                        f"now {now(ctx).isoformat()}")
    return who, grant


class AccessTransactions:
    """Transactions of the access contract."""

    @transaction
    def request(self, ctx: Context, request_id: str, asset_id: str, purpose: str, fields_json: str,
                duration_days: int) -> dict[str, Any]:
        """`REQ~{request_id}` = {"request_id", "asset_id", "requester_msp",
        "requester_entity", "requester_id", "purpose", "fields", "duration_days",
        "requested_at", "status": "PENDING"} (any member but `public`). Fields must be
        properties of the asset's standard; 1 <= duration_days <= 365. GENERAL data shared
        UNCONDITIONALLY is APPROVED at once with grant id = request id. Touches
        `ORG~{requester}`. Returns the request."""
        check_id(request_id, "request_id")
        check_id(asset_id, "asset_id")
        check_text(purpose, "purpose")
        fields = string_set(fields_json, "fields_json")
        if isinstance(duration_days, bool) or not isinstance(duration_days, int) or not 1 <= duration_days <= MAX_DAYS:
            raise fail("ERR_INVALID_ARGUMENT", f"duration_days must be 1 to {MAX_DAYS}, found {duration_days!r}")
        who = caller(ctx, MEMBERS)
        store = Store(ctx)
        asset = store.need(AST, asset_id)
        if asset["status"] != ACTIVE:
            raise fail("ERR_CONFLICT", f"asset {asset_id} must be ACTIVE, found {asset['status']}")
        catalog = shared_catalog(store, asset)
        standard = store.need(STD, catalog["standard_id"], catalog["version"])
        unknown = [f for f in fields if f not in standard["schema"]["properties"]]
        if unknown:
            raise fail("ERR_INVALID_ARGUMENT", f"fields_json names fields not in standard "
                                               f"{catalog['standard_id']}: {', '.join(unknown)}")
        at = now(ctx)
        request = {"request_id": request_id, "asset_id": asset_id, "requester_msp": who.msp_id,
                   "requester_entity": who.attribute("entity_id") if who.msp_id == EMITTER else "",
                   "requester_id": who.id, "purpose": purpose, "fields": fields, "duration_days": duration_days,
                   "requested_at": at.isoformat(), "status": PENDING}
        automatic = catalog["classification"] == GENERAL and catalog["share_type"] == UNCONDITIONAL
        if automatic:
            request.update(status=APPROVED, grant_id=request_id)
            store.create(GRANT, request_id, record=grant_record(request, request_id,
                                                                at + dt.timedelta(days=duration_days), at),
                         policy=any_peer_of(asset["owner_msp"], MEE))
        store.create(REQ, request_id, record=request)
        store.touch_org(who.msp_id)
        event: dict[str, Any] = {"request_id": request_id, "asset_id": asset_id, "granted": automatic}
        if automatic:
            event["grant_id"] = request_id
        emit(ctx, "AccessRequested", event)
        return request

    @transaction
    def approve(self, ctx: Context, request_id: str, grant_id: str, expires_at: str) -> None:
        """PENDING -> APPROVED and `GRANT~{grant_id}` = {"grant_id", "request_id",
        "asset_id", "grantee_msp", "grantee_entity", "fields", "expires_at", "status":
        "ACTIVE", "use_count": 0, "granted_at"} with policy OR(owner peer, MEE peer) (the
        asset's owner). `expires_at` lies after now and no later than requested_at +
        duration_days (ERR_INVALID_ARGUMENT); DISPUTED ownership -> ERR_CONFLICT. Touches
        `ORG~{owner}`, and `GOV~config` for IMPORTANT data."""
        check_id(request_id, "request_id")
        check_id(grant_id, "grant_id")
        expires = parse_time(expires_at, "expires_at")
        store = Store(ctx)
        request, asset = pending_request(ctx, store, request_id)
        catalog = shared_catalog(store, asset)
        claim = store.get(OWN, asset["asset_id"])
        if claim is not None and claim["status"] == "DISPUTED":
            raise fail("ERR_CONFLICT", f"ownership of {asset['asset_id']} is DISPUTED: no new grants until confirmed")
        at = now(ctx)
        latest = parse_time(request["requested_at"], "requested_at") + dt.timedelta(days=request["duration_days"])
        if not at < expires <= latest:
            raise fail("ERR_INVALID_ARGUMENT", f"expires_at must lie after {at.isoformat()} and no later than "
                                               f"{latest.isoformat()}, found {expires_at}")
        store.create(GRANT, grant_id, record=grant_record(request, grant_id, expires, at),
                     policy=any_peer_of(asset["owner_msp"], MEE))
        request.update(status=APPROVED, grant_id=grant_id, decided_at=at.isoformat())
        store.put(REQ, request_id, record=request)
        store.touch_org(asset["owner_msp"])
        if catalog["classification"] == IMPORTANT:
            store.touch_gov()
        emit(ctx, "AccessGranted", {"request_id": request_id, "grant_id": grant_id, "asset_id": asset["asset_id"],
                                    "expires_at": expires.isoformat()})

    @transaction
    def reject(self, ctx: Context, request_id: str, reason: str) -> None:
        """PENDING -> REJECTED with "reason" (the asset's owner; ERR_CONFLICT otherwise).
        Touches `ORG~{owner}`."""
        check_id(request_id, "request_id")
        check_text(reason, "reason")
        store = Store(ctx)
        request, asset = pending_request(ctx, store, request_id)
        request.update(status=REJECTED, reason=reason, decided_at=now(ctx).isoformat())
        store.put(REQ, request_id, record=request)
        store.touch_org(asset["owner_msp"])
        emit(ctx, "AccessRejected", {"request_id": request_id, "asset_id": asset["asset_id"]})

    @transaction
    def revoke(self, ctx: Context, grant_id: str, reason: str) -> None:
        """ACTIVE -> REVOKED with "reason", "revoked_by", "revoked_at" (the asset's owner
        or an MEE regulator; ERR_CONFLICT if revoked already). The grant's own policy
        OR(owner, MEE) needs no anchor."""
        check_id(grant_id, "grant_id")
        check_text(reason, "reason")
        store = Store(ctx)
        grant = store.need(GRANT, grant_id)
        asset = store.need(AST, grant["asset_id"])
        who = caller(ctx, OFFICER_ROLES, EMITTERS)
        if not (is_owner(who, asset["owner_msp"], asset["owner_entity"])
                or who.role in REGULATORS.get(who.msp_id, ())):
            raise fail("ERR_UNAUTHORIZED", f"only the owner of {asset['asset_id']} or an MEE regulator may revoke "
                                           f"grant {grant_id}, found {who.msp_id} {who.role}")
        if grant["status"] != ACTIVE:
            raise fail("ERR_CONFLICT", f"grant {grant_id} must be ACTIVE, found {grant['status']}")
        grant.update(status=REVOKED, reason=reason, revoked_by=who.msp_id, revoked_at=now(ctx).isoformat())
        store.put(GRANT, grant_id, record=grant)
        emit(ctx, "AccessRevoked", {"grant_id": grant_id, "asset_id": asset["asset_id"]})

    @transaction
    def record_access(self, ctx: Context, grant_id: str, access_id: str, fields_json: str,
                      served_hash: str) -> None:
        """Record one use of grant `grant_id` by its grantee: `LOG~{asset}~{time}~{txid}` =
        {"grant_id", "access_id", "accessor_msp", "accessor_entity", "accessor_id",
        "purpose", "fields", "served_hash", "tx_id", "at"}, and the grant's use_count + 1.
        ERR_GRANT_REVOKED, ERR_GRANT_EXPIRED (at or after expires_at), ERR_UNAUTHORIZED
        (not the grantee, or fields not granted). Touches `ORG~{owner}` (its peer serves)."""
        check_id(grant_id, "grant_id")
        check_id(access_id, "access_id")
        fields = string_set(fields_json, "fields_json")
        check_hash(served_hash, "served_hash")
        store = Store(ctx)
        who, grant = usable_grant(ctx, store, grant_id)
        extra = [f for f in fields if f not in grant["fields"]]
        if extra:
            raise fail("ERR_UNAUTHORIZED", f"grant {grant_id} covers {', '.join(grant['fields'])}, "
                                           f"not {', '.join(extra)}")
        asset = store.need(AST, grant["asset_id"])
        request = store.need(REQ, grant["request_id"])
        at = now(ctx)
        tx_id = ctx.stub.tx_id
        store.create(LOG, asset["asset_id"], at.isoformat(), tx_id, record={
            "grant_id": grant_id, "access_id": access_id, "accessor_msp": who.msp_id,
            "accessor_entity": who.attribute("entity_id"), "accessor_id": who.id, "purpose": request["purpose"],
            "fields": fields, "served_hash": served_hash, "tx_id": tx_id, "at": at.isoformat()})
        grant["use_count"] = int(grant["use_count"]) + 1
        store.put(GRANT, grant_id, record=grant)
        store.touch_org(asset["owner_msp"])
        emit(ctx, "AssetAccessed", {"asset_id": asset["asset_id"], "grant_id": grant_id, "access_id": access_id,
                                    "served_hash": served_hash})

    @transaction(submit=False)
    def read_private(self, ctx: Context, grant_id: str) -> dict[str, Any]:
        """{"asset_id", "content_hash", "fields": {granted field: value}} from the asset's
        private payload (a JSON object), for the grantee under a usable grant that it has
        already recorded an access under [D]. ERR_NOT_FOUND if the asset has no payload."""
        check_id(grant_id, "grant_id")
        store = Store(ctx)
        who, grant = usable_grant(ctx, store, grant_id)
        asset = store.need(AST, grant["asset_id"])
        if not any(log["grant_id"] == grant_id and log["accessor_msp"] == who.msp_id
                   for _, log in store.scan(LOG, asset["asset_id"])):
            raise fail("ERR_UNAUTHORIZED", f"record an access under grant {grant_id} before reading")
        raw = ctx.stub.get_private_data(asset["pdc"], store.key(AST, asset["asset_id"])) if asset["pdc"] else b""
        if not raw:
            raise fail("ERR_NOT_FOUND", f"asset {asset['asset_id']} has no private payload")
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise fail("ERR_INVALID_ARGUMENT", f"asset {asset['asset_id']}'s payload is not a JSON object")
        return {"asset_id": asset["asset_id"], "content_hash": asset["content_hash"],
                "fields": {f: payload[f] for f in grant["fields"] if f in payload}}

    @transaction(submit=False)
    def logs(self, ctx: Context, asset_id: str) -> list[dict[str, Any]]:
        """The asset's access log, oldest first, each entry with "asset_id" and its key's
        "ts" (the asset's owner, an MEE regulator or an auditor)."""
        check_id(asset_id, "asset_id")
        who = caller(ctx, MEMBERS)
        store = Store(ctx)
        asset = store.need(AST, asset_id)
        if not (is_owner(who, asset["owner_msp"], asset["owner_entity"]) or who.role in REGULATORS.get(who.msp_id, ())
                or who.role in AUDITORS.get(who.msp_id, ())):
            raise fail("ERR_UNAUTHORIZED", f"{who.msp_id} {who.role} may not read the access log of {asset_id}")
        return [{"asset_id": asset_id, "ts": parts[1], **log} for parts, log in store.scan(LOG, asset_id)]


def pending_request(ctx: Context, store: Store, request_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The PENDING request `request_id` and its asset, for the asset's owner to decide
    (ERR_UNAUTHORIZED for anyone else, ERR_CONFLICT once decided)."""
    request = store.need(REQ, request_id)
    asset = store.need(AST, request["asset_id"])
    owner(ctx, asset, f"asset {asset['asset_id']}")
    if request["status"] != PENDING:
        raise fail("ERR_CONFLICT", f"request {request_id} must be PENDING, found {request['status']}")
    return request, asset
