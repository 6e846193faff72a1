"""ContractChaincode: contracts served as one chaincode, through the shim.

This is the one adapter between the low-level shim (`init`/`invoke` with a stub,
answering a Response) and contracts. For each invocation it:

1. reads the function argument: `Contract:function`, or `function` for the default
   (first) contract; `org.hyperledger.fabric:GetMetadata` answers the metadata;
2. makes the context (`create_context`), parses the string arguments by the type
   hints, runs `before_transaction`, the method, `after_transaction`;
3. writes the result as the payload (see `results`), or turns what was raised into a
   status-500 response: a ContractError as `"CODE: message"`, anything else as
   `"<ExceptionType>: message"`. Tracebacks stay in the chaincode's log, never in a
   response: it is signed by the peer and shown to a client.

Fabric 2.x initialisation (`--isInit`) is an ordinary invocation flagged as init, so
`init` routes exactly like `invoke`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fabric_protos.peer import proposal_response_pb2

from chaincode.contract.contract import Contract
from chaincode.contract.errors import ContractDefinitionError, ContractError
from chaincode.contract.metadata import GET_METADATA, SYSTEM_CONTRACT, build_metadata
from chaincode.contract.results import canonical_json, serialize_result
from chaincode.contract.shapes import ShapeReader
from chaincode.contract.transactions import Transaction, read_transactions
from chaincode.shim.interfaces import error, success
from chaincode.shim.stub import ChaincodeStub

log = logging.getLogger(__name__)


class ContractChaincode:
    """A chaincode (the shim's `Chaincode`) made of contracts; the first one is the default."""

    def __init__(self, *contracts: Contract, title: str = "", version: str = "") -> None:
        if not contracts:
            raise ContractDefinitionError("a ContractChaincode needs at least one contract")
        reader = ShapeReader()
        self._contracts: dict[str, tuple[Contract, dict[str, Transaction]]] = {}
        for contract in contracts:
            if not isinstance(contract, Contract):
                hint = f" (instantiate it: {contract.__name__}())" if isinstance(contract, type) else ""
                raise ContractDefinitionError(f"expected a Contract instance, found {contract!r}{hint}")
            name = contract.name
            if not isinstance(name, str) or not name or ":" in name:
                raise ContractDefinitionError(f"contract name must be a non-empty string without ':', found {name!r}")
            if name == SYSTEM_CONTRACT:
                raise ContractDefinitionError(f"contract name {SYSTEM_CONTRACT!r} is reserved for the system contract")
            if name in self._contracts:
                other = self._contracts[name][0]
                raise ContractDefinitionError(f"two contracts are named {name!r}: {other!r} and {contract!r}; "
                                              f"give one a different `name`")
            self._contracts[name] = (contract, read_transactions(contract, reader))
        self.default_contract = contracts[0].name
        metadata = build_metadata([(c, list(txs.values())) for c, txs in self._contracts.values()],
                                  title=title, version=version)
        self._metadata_json = canonical_json(metadata)

    @property
    def contract_names(self) -> list[str]:
        return list(self._contracts)

    @property
    def metadata(self) -> dict[str, Any]:
        """The document GetMetadata serves (a fresh copy)."""
        result: dict[str, Any] = json.loads(self._metadata_json)
        return result

    def init(self, stub: ChaincodeStub) -> proposal_response_pb2.Response:
        return self._invoke(stub)

    def invoke(self, stub: ChaincodeStub) -> proposal_response_pb2.Response:
        return self._invoke(stub)

    def _invoke(self, stub: ChaincodeStub) -> proposal_response_pb2.Response:
        args = stub.get_args()
        if not args:  # as fabric-contract-api: nothing asked, nothing done
            return success()
        try:
            target = args[0].decode("utf-8")
        except UnicodeDecodeError:
            return error(f"the function name is not UTF-8 text: {args[0][:60]!r}")
        contract_name, colon, function = target.partition(":")  # the first ':' separates, as in Fabric
        if not colon:
            contract_name, function = "", target
        contract_name = contract_name or self.default_contract
        if contract_name == SYSTEM_CONTRACT:
            return self._system(function)
        entry = self._contracts.get(contract_name)
        if entry is None:
            return error(f"contract {contract_name!r} is not in this chaincode; "
                         f"available: {', '.join(self._contracts)}")
        contract, transactions = entry
        where = (stub.channel_id, stub.tx_id[:8], contract_name, function)  # for the log lines: "[ch/tx] c:f"
        try:
            ctx = contract.create_context(stub)
            tx = transactions.get(function)
            if tx is None:
                result = contract.unknown_transaction(ctx)
            else:
                values = tx.parse_arguments(args[1:])
                contract.before_transaction(ctx)
                result = getattr(contract, tx.attribute)(ctx, *values)
                contract.after_transaction(ctx, result)
            payload = serialize_result(result)
        except ContractError as exc:
            log.debug("[%s/%s] %s:%s refused: %s", *where, exc.code or "no code")
            return error(str(exc))
        except Exception as exc:
            log.error("[%s/%s] %s:%s failed with %s", *where, type(exc).__name__)
            log.debug("[%s/%s] %s:%s traceback", *where, exc_info=True)
            text = str(exc)
            return error(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)
        log.debug("[%s/%s] %s:%s done", *where)
        return success(payload)

    def _system(self, function: str) -> proposal_response_pb2.Response:
        if function == GET_METADATA:
            return success(self._metadata_json)
        return error(f"function {function!r} is not a transaction of contract {SYSTEM_CONTRACT!r}; "
                     f"available: {GET_METADATA}")
