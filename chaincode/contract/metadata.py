"""The contract metadata served by `org.hyperledger.fabric:GetMetadata`.

Fabric's contract chaincodes describe themselves in one JSON document (the
"contract schema" of fabric-chaincode-node): each contract with its transactions,
each transaction with a tag saying whether it is meant to be submitted or evaluated,
its parameters as JSON Schemas, and the complex types under `components.schemas`.
Tools (and client code generators) read it to know how to call the chaincode.

The document depends only on the contract classes, so it is built once and every
peer serves the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chaincode.contract.contract import Contract
from chaincode.contract.schema import SchemaWriter
from chaincode.contract.transactions import Transaction

SCHEMA_URL = "https://hyperledger.github.io/fabric-chaincode-node/main/api/contract-schema.json"
SYSTEM_CONTRACT = "org.hyperledger.fabric"
GET_METADATA = "GetMetadata"
SUBMIT = "submit"
EVALUATE = "evaluate"


def build_metadata(contracts: Sequence[tuple[Contract, Sequence[Transaction]]], *, title: str, version: str
                   ) -> dict[str, Any]:
    """The metadata document; the first contract is the default one."""
    writer = SchemaWriter()
    described: dict[str, Any] = {}
    for contract, transactions in contracts:
        described[contract.name] = {
            "name": contract.name,
            "info": {"title": contract.name, "version": "", **contract.info},
            "transactions": [_transaction(tx, writer) for tx in transactions],
        }
    described[SYSTEM_CONTRACT] = {
        "name": SYSTEM_CONTRACT,
        "info": {"title": "", "version": ""},
        "transactions": [{"name": GET_METADATA, "tag": [EVALUATE], "parameters": []}],
    }
    return {
        "$schema": SCHEMA_URL,
        "info": {"title": title, "version": version},
        "contracts": described,
        "default": contracts[0][0].name,
        "components": {"schemas": writer.components},
    }


def _transaction(tx: Transaction, writer: SchemaWriter) -> dict[str, Any]:
    described: dict[str, Any] = {
        "name": tx.name,
        "tag": [SUBMIT if tx.submit else EVALUATE],
        "parameters": [{"name": p.name, "required": p.required, "schema": writer.schema(p.shape)}
                       for p in tx.parameters],
    }
    if tx.returns is not None:
        described["returns"] = writer.schema(tx.returns)
    return described
