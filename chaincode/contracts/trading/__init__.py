"""The `trading` chaincode of the carbon market's `trading` channel (DOMAIN.md §4.1, §5.3).

Its contracts are named as DOMAIN.md names the functions (`registry:open_account`, ...);
each groups the transactions of one or more concerns, one module per concern: `admin`
(periods, benchmarks, products), `registry` (accounts, allocation, compliance),
`exchange` (listings, takes, block trades, cancels; one-way bidding), `settlement`
(deposits and withdrawals; the end-of-day settlement) and `query`.
"""

from chaincode.contract import Contract

from .accounts import AccountTransactions
from .admin import AdminTransactions
from .allocation import AllocationTransactions
from .bidding import BiddingTransactions
from .compliance import ComplianceTransactions
from .exchange import ExchangeTransactions
from .funds import FundTransactions
from .queries import QueryTransactions
from .settlement import SettlementTransactions


class Admin(AdminTransactions, Contract):
    name = "admin"


class Registry(AccountTransactions, AllocationTransactions, ComplianceTransactions, Contract):
    name = "registry"


class Exchange(ExchangeTransactions, BiddingTransactions, Contract):
    name = "exchange"


class Settlement(FundTransactions, SettlementTransactions, Contract):
    name = "settlement"


class Query(QueryTransactions, Contract):
    name = "query"


contracts = [Admin(), Registry(), Exchange(), Settlement(), Query()]

__all__ = ["Admin", "Exchange", "Query", "Registry", "Settlement", "contracts"]
