"""The contract API: write chaincode as classes of typed transactions.

    from chaincode.contract import Context, Contract, ContractError, transaction

    class AssetContract(Contract):
        @transaction
        def create(self, ctx: Context, asset_id: str, value: int) -> None: ...

        @transaction(submit=False)
        def read(self, ctx: Context, asset_id: str) -> dict[str, object]: ...

`ContractChaincode(*contracts)` serves them through the shim: it routes
`Contract:function` (or `function`, to the first contract), parses the string
arguments by the type hints, runs the hooks, serializes the result deterministically
and answers `org.hyperledger.fabric:GetMetadata`, as fabric-contract-api does.
`load_contracts(folder)` reads the contracts of a contract package.
"""

from chaincode.contract.chaincode import ContractChaincode
from chaincode.contract.client_identity import ClientIdentity
from chaincode.contract.context import Context
from chaincode.contract.contract import Contract
from chaincode.contract.decorator import transaction
from chaincode.contract.errors import (
    ContractDefinitionError,
    ContractError,
    ContractLoadError,
)
from chaincode.contract.loader import load_contracts

__all__ = [
    "ClientIdentity",
    "Context",
    "Contract",
    "ContractChaincode",
    "ContractDefinitionError",
    "ContractError",
    "ContractLoadError",
    "load_contracts",
    "transaction",
]
