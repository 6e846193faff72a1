"""mrv.register_entity, mrv.submit_plan, mrv.approve_plan (DOMAIN.md §5.1).

A province lists the key emitting entities on its territory (those emitting at least
26,000 t a year). Before it reports monthly data, an entity submits its data-quality
control plan: the document goes into the province's private collection, its sha256 into
public state, and the province approves it.
"""

from __future__ import annotations

from chaincode.contract import Context, transaction

from .common import (
    EMITTER,
    ENTMRV,
    PLAN,
    PROVINCE_MSPS,
    PROVMRV,
    UNIT_TYPES,
    Store,
    check_hash,
    check_id,
    emit,
    fail,
    matching,
    now,
    officer_of,
    one_of,
    own_entity,
    peers_of,
    positive,
    province_officer,
    transient,
)

THRESHOLD_T = 26_000  # annual emissions that make an entity a key emitter [F:S9]
MAX_NAME = 256


class EntityTransactions:
    """Transactions of the mrv chaincode: register_entity, submit_plan, approve_plan."""

    @transaction
    def register_entity(self, ctx: Context, entity_id: str, name: str, province: str, unit_type: str,
                        est_annual_t: int) -> None:
        """List entity `entity_id` of `province` (an officer of that province).

        ERR_BELOW_THRESHOLD if `est_annual_t` < 26,000; ERR_CONFLICT if listed already.
        The province's anchor `PROVMRV~{province}` (policy: the province's peer) is
        touched, or created by the province's first listing. Writes `ENTMRV~{entity_id}`
        = {"entity_id", "name", "province", "unit_type", "est_annual_t", "status":
        "LISTED", "listed_at"} with policy AND(EmitterMSP, Prov{p}).
        """
        check_id(entity_id, "entity_id")
        if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
            raise fail("ERR_INVALID_ARGUMENT", f"name must be 1 to {MAX_NAME} characters, found {name!r}")
        one_of(province, tuple(PROVINCE_MSPS), "province")
        one_of(unit_type, UNIT_TYPES, "unit_type")
        positive(est_annual_t, "est_annual_t")
        province_officer(ctx, province)
        if est_annual_t < THRESHOLD_T:
            raise fail("ERR_BELOW_THRESHOLD",
                       f"est_annual_t must be at least {THRESHOLD_T:,} t for a key emitter, found {est_annual_t:,}")
        store = Store(ctx)
        if store.get(ENTMRV, entity_id) is not None:
            raise fail("ERR_CONFLICT", f"entity {entity_id} is already listed")
        msp = PROVINCE_MSPS[province]
        if store.get(PROVMRV, province) is None:
            store.create(PROVMRV, province, record={"province": province, "msp_id": msp}, policy=peers_of(msp))
        else:
            store.touch(PROVMRV, province)
        store.create(ENTMRV, entity_id, record={
            "entity_id": entity_id, "name": name, "province": province, "unit_type": unit_type,
            "est_annual_t": est_annual_t, "status": "LISTED", "listed_at": now(ctx).isoformat()},
            policy=peers_of(EMITTER, msp))
        emit(ctx, "EntityListed", {"entity_id": entity_id, "province": province, "unit_type": unit_type,
                                   "est_annual_t": est_annual_t})

    @transaction
    def submit_plan(self, ctx: Context, entity_id: str, plan_id: str, plan_hash: str) -> None:
        """Submit data-quality control plan `plan_id` (the entity's own emitter), whose
        document is the transient field `plan`.

        ERR_HASH_MISMATCH unless `plan_hash` = sha256(plan); ERR_CONFLICT if the plan
        exists. The document goes to `mrvRaw{p}` under `PLAN~{entity_id}~{plan_id}`;
        public `PLAN~{entity_id}~{plan_id}` = {"entity_id", "plan_id", "plan_hash",
        "status": "SUBMITTED", "submitted_at"}. Touches `ENTMRV~{entity_id}`.
        """
        check_id(entity_id, "entity_id")
        check_id(plan_id, "plan_id")
        check_hash(plan_hash, "plan_hash")
        store = Store(ctx)
        entity = own_entity(ctx, store, entity_id)
        document = transient(ctx, "plan")
        matching(document, plan_hash, "plan_hash")
        store.create(PLAN, entity_id, plan_id, record={"entity_id": entity_id, "plan_id": plan_id,
                                                       "plan_hash": plan_hash, "status": "SUBMITTED",
                                                       "submitted_at": now(ctx).isoformat()})
        store.put_private(entity["province"], PLAN, entity_id, plan_id, payload=document)
        store.touch(ENTMRV, entity_id)
        emit(ctx, "PlanSubmitted", {"entity_id": entity_id, "plan_id": plan_id, "plan_hash": plan_hash})

    @transaction
    def approve_plan(self, ctx: Context, entity_id: str, plan_id: str) -> None:
        """Approve plan `plan_id` (an officer of the entity's province): SUBMITTED ->
        APPROVED (ERR_CONFLICT otherwise), with "approved_at". Touches `PROVMRV~{p}`."""
        check_id(entity_id, "entity_id")
        check_id(plan_id, "plan_id")
        store = Store(ctx)
        _, entity = officer_of(ctx, store, entity_id)
        plan = store.need(PLAN, entity_id, plan_id)
        if plan["status"] != "SUBMITTED":
            raise fail("ERR_CONFLICT", f"plan {entity_id}/{plan_id} must be SUBMITTED to approve, found {plan['status']}")
        plan.update(status="APPROVED", approved_at=now(ctx).isoformat())
        store.put(PLAN, entity_id, plan_id, record=plan)
        store.touch(PROVMRV, entity["province"])
        emit(ctx, "PlanApproved", {"entity_id": entity_id, "plan_id": plan_id})
