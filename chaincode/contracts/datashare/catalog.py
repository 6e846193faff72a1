"""catalog.publish (DOMAIN.md §4.2, §5.2).

A catalog entry describes a kind of government data: its owner, the standard it
follows, its classification under the Data Security Law (GENERAL, IMPORTANT, CORE) and
its share type under the 2016 sharing measures (UNCONDITIONAL, CONDITIONAL,
NOT_SHARED). Rule [D]: CORE data is never shared, IMPORTANT data never unconditionally.
The owner's peer and a majority of the governing departments endorse.
"""

from __future__ import annotations

from chaincode.contract import Context, transaction

from .common import (
    ACTIVE,
    CAT,
    CONDITIONAL,
    CORE,
    EMITTER,
    EMITTERS,
    GENERAL,
    IMPORTANT,
    NOT_SHARED,
    OFFICER_ROLES,
    STD,
    UNCONDITIONAL,
    Store,
    caller,
    check_id,
    check_text,
    emit,
    fail,
    now,
    one_of,
    owner_and_majority,
)

CLASSIFICATIONS = (GENERAL, IMPORTANT, CORE)
SHARE_TYPES = (UNCONDITIONAL, CONDITIONAL, NOT_SHARED)


def check_sharing(classification: str, share_type: str) -> None:
    """Rule [D] of DOMAIN.md §4.2 (ERR_INVALID_ARGUMENT)."""
    if classification == CORE and share_type != NOT_SHARED:
        raise fail("ERR_INVALID_ARGUMENT", f"share_type of CORE data must be NOT_SHARED, found {share_type}")
    if classification == IMPORTANT and share_type == UNCONDITIONAL:
        raise fail("ERR_INVALID_ARGUMENT", "share_type of IMPORTANT data may not be UNCONDITIONAL")


class CatalogTransactions:
    """Transactions of the catalog contract: publish."""

    @transaction
    def publish(self, ctx: Context, catalog_id: str, title: str, standard_id: str, version: str,
                classification: str, share_type: str, update_freq: str, owner_entity: str = "") -> None:
        """Publish `CAT~{catalog_id}` = {"catalog_id", "title", "owner_msp", "owner_entity",
        "standard_id", "version", "classification", "share_type", "update_freq", "status":
        "ACTIVE", "published_at"} with policy AND(owner peer, OutOf(3, GOV)).

        A GOV department officer publishes for its department (no `owner_entity`), an
        emitter for its own entity (`owner_entity` = its `entity_id`). The standard must
        exist (ERR_NOT_FOUND) and be ACTIVE (ERR_INVALID_ARGUMENT). Touches `GOV~config`
        and `ORG~{owner}`.
        """
        check_id(catalog_id, "catalog_id")
        check_text(title, "title")
        check_id(standard_id, "standard_id")
        check_id(version, "version")
        one_of(classification, CLASSIFICATIONS, "classification")
        one_of(share_type, SHARE_TYPES, "share_type")
        check_id(update_freq, "update_freq")
        if owner_entity:
            check_id(owner_entity, "owner_entity")
        check_sharing(classification, share_type)
        who = caller(ctx, OFFICER_ROLES, EMITTERS)
        if who.msp_id == EMITTER and owner_entity != who.attribute("entity_id"):
            raise fail("ERR_UNAUTHORIZED", f"emitter {who.attribute('entity_id') or '?'} may publish only its own "
                                           f"data, found owner_entity {owner_entity or '(none)'}")
        if who.msp_id != EMITTER and owner_entity:
            raise fail("ERR_INVALID_ARGUMENT", f"owner_entity is only for enterprise data, found {owner_entity}")
        store = Store(ctx)
        standard = store.need(STD, standard_id, version)
        if standard["status"] != ACTIVE:
            raise fail("ERR_INVALID_ARGUMENT", f"standard {standard_id} {version} must be ACTIVE, "
                                               f"found {standard['status']}")
        store.create(CAT, catalog_id, record={
            "catalog_id": catalog_id, "title": title, "owner_msp": who.msp_id, "owner_entity": owner_entity,
            "standard_id": standard_id, "version": version, "classification": classification,
            "share_type": share_type, "update_freq": update_freq, "status": ACTIVE,
            "published_at": now(ctx).isoformat()}, policy=owner_and_majority(who.msp_id))
        store.touch_gov()
        store.touch_org(who.msp_id)
        emit(ctx, "CatalogEntryPublished", {"catalog_id": catalog_id, "owner_msp": who.msp_id,
                                            "owner_entity": owner_entity, "classification": classification,
                                            "share_type": share_type})
