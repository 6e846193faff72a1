"""The `mrv` chaincode of the `data-sharing` channel (DOMAIN.md §3.2, §4.2, §5.1).

Monitoring, reporting and verification of the key emitters' emissions, one contract
named `mrv` (clients call `mrv:register_entity`, ...) whose transactions come in one
module per concern: `entities` (listing entities, data-quality plans), `reporting`
(monthly data, annual reports, reading a report), `verification` (assignment,
verified figures, confirmation) and `objections`.
"""

from chaincode.contract import Contract

from .entities import EntityTransactions
from .objections import ObjectionTransactions
from .reporting import ReportingTransactions
from .verification import VerificationTransactions


class MRV(EntityTransactions, ReportingTransactions, VerificationTransactions, ObjectionTransactions, Contract):
    name = "mrv"


contracts = [MRV()]

__all__ = ["MRV", "contracts"]
