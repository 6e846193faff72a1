"""The `trading` chaincode of the carbon market's `trading` channel (DOMAIN.md §4.1, §5.3).

Its contracts are named as DOMAIN.md names the functions (`registry:open_account`, ...);
each groups the transactions of one or more concerns, one module per concern.
Not yet here: the `exchange` contract (orders, matching, block trades, bidding) and
`settlement:settle_day`.
"""

from chaincode.contract import Contract

from .accounts import AccountTransactions
from .admin import AdminTransactions
from .allocation import AllocationTransactions
from .compliance import ComplianceTransactions
from .funds import FundTransactions
from .queries import QueryTransactions


class Admin(AdminTransactions, Contract):
    name = "admin"


class Registry(AccountTransactions, AllocationTransactions, ComplianceTransactions, Contract):
    name = "registry"


class Settlement(FundTransactions, Contract):
    name = "settlement"


class Query(QueryTransactions, Contract):
    name = "query"


contracts = [Admin(), Registry(), Settlement(), Query()]

__all__ = ["Admin", "Query", "Registry", "Settlement", "contracts"]
