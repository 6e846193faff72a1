"""governance.init: the anchors of the data-sharing channel (DOMAIN.md §4.2, §6.2).

DOMAIN.md names the anchors `GOV~config` and `ORG~{msp}` but no function that creates
them; this one does, once, at the ministry's request. `GOV~config` lists the governing
departments and carries OutOf(3, their peers); each `ORG~{msp}` carries its own peer.
"""

from __future__ import annotations

from chaincode.contract import Context, transaction

from .common import (
    CONFIG,
    GOV,
    GOVCFG,
    MAJORITY,
    ORG,
    ORG_KINDS,
    REGULATORS,
    Store,
    caller,
    emit,
    majority,
    peers_of,
)


class GovernanceTransactions:
    """Transactions of the governance contract: init."""

    @transaction
    def init(self, ctx: Context) -> None:
        """Create `GOV~config` = {"governing_msps", "majority": 3} (policy OutOf(3, GOV))
        and `ORG~{msp}` = {"msp_id", "kind"} (policy {msp}.peer) for every GOV,
        enterprise and verifier MSP (an MEE regulator; ERR_CONFLICT if done already)."""
        caller(ctx, REGULATORS)
        store = Store(ctx)
        store.create(GOVCFG, CONFIG, record={"governing_msps": list(GOV), "majority": MAJORITY}, policy=majority())
        for msp, kind in ORG_KINDS.items():
            store.create(ORG, msp, record={"msp_id": msp, "kind": kind}, policy=peers_of(msp))
        emit(ctx, "GovernanceInitialised", {"governing_msps": list(GOV), "majority": MAJORITY})
