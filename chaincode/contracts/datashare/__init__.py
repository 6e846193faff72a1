"""The `datashare` chaincode of the `data-sharing` channel (DOMAIN.md §4.2, §5.2, §6.2).

Government data shared between departments under co-governance: one contract per
function group, as DOMAIN.md names them (clients call `access:request`, ...):
`governance` (the anchors; not in DOMAIN.md's table), `standards`, `catalog`, `assets`,
`ownership` and `access`.
"""

from chaincode.contract import Contract

from .access import AccessTransactions
from .assets import AssetTransactions
from .catalog import CatalogTransactions
from .governance import GovernanceTransactions
from .ownership import OwnershipTransactions
from .standards import StandardTransactions


class Governance(GovernanceTransactions, Contract):
    name = "governance"


class Standards(StandardTransactions, Contract):
    name = "standards"


class Catalog(CatalogTransactions, Contract):
    name = "catalog"


class Assets(AssetTransactions, Contract):
    name = "assets"


class Ownership(OwnershipTransactions, Contract):
    name = "ownership"


class Access(AccessTransactions, Contract):
    name = "access"


contracts = [Governance(), Standards(), Catalog(), Assets(), Ownership(), Access()]

__all__ = ["Access", "Assets", "Catalog", "Governance", "Ownership", "Standards", "contracts"]
