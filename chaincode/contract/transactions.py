"""A contract's transactions, read from its class once: names, parameters, shapes.

Reading the signatures up front (when a `ContractChaincode` is built) means a type
the API cannot parse, a missing hint or two transactions with one name stop the
chaincode from starting, with a message naming the method, instead of failing one
client call later. At call time the router only looks the transaction up and
parses arguments by the shapes recorded here.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING

from chaincode.contract.arguments import ArgumentError, parse_argument
from chaincode.contract.decorator import (
    TransactionMark,
    marked_methods,
    transaction_name,
)
from chaincode.contract.errors import ContractDefinitionError, ContractError
from chaincode.contract.shapes import Shape, ShapeReader

if TYPE_CHECKING:
    from chaincode.contract.contract import Contract

INVALID_ARGUMENT = "ERR_INVALID_ARGUMENT"


@dataclass(frozen=True)
class Parameter:
    name: str
    shape: Shape
    required: bool  # False when the parameter has a default (the argument may be left off)


@dataclass(frozen=True)
class Transaction:
    """One transaction of a contract, ready to be called."""

    name: str  # what clients call
    attribute: str  # the method on the contract
    submit: bool
    parameters: tuple[Parameter, ...]
    returns: Shape | None  # None: returns nothing, or undeclared

    def parse_arguments(self, raw: Sequence[bytes]) -> list[object]:
        """The method's arguments from the wire; ContractError(ERR_INVALID_ARGUMENT) if they do not fit."""
        least = sum(1 for p in self.parameters if p.required)
        most = len(self.parameters)
        if not least <= len(raw) <= most:
            count = str(most) if least == most else f"{least} to {most}"
            names = ", ".join(p.name for p in self.parameters) or "none"
            raise ContractError(f"{self.name}: expected {count} argument{'' if most == 1 else 's'} ({names}), "
                                f"got {len(raw)}", INVALID_ARGUMENT)
        values: list[object] = []
        for parameter, argument in zip(self.parameters, raw):
            try:
                values.append(parse_argument(argument, parameter.shape))
            except ArgumentError as exc:
                raise ContractError(f"{self.name}: argument '{parameter.name}{exc.path}' must be {exc.expected}, "
                                    f"got {exc.found}", INVALID_ARGUMENT) from None
        return values


def read_transactions(contract: Contract, reader: ShapeReader) -> dict[str, Transaction]:
    """The transactions of `contract` by name, in definition order (base classes first)."""
    cls = type(contract)
    found: dict[str, Transaction] = {}
    for attribute, mark in marked_methods(cls):
        tx = _read_one(cls, attribute, mark, reader)
        if tx.name in found:
            raise ContractDefinitionError(
                f"contract {contract.name}: methods {found[tx.name].attribute} and {attribute} "
                f"are both transaction {tx.name!r}")
        found[tx.name] = tx
    return found


def _read_one(cls: type, attribute: str, mark: TransactionMark, reader: ShapeReader) -> Transaction:
    function = inspect.getattr_static(cls, attribute)
    where = f"{cls.__qualname__}.{attribute}"
    signature = inspect.signature(function)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = list(signature.parameters.values())
    if len(params) < 2 or any(p.kind not in positional for p in params[:2]):
        raise ContractDefinitionError(f"{where}: a transaction takes (self, ctx, ...)")
    hints = _hints(function, skip=(params[0].name, params[1].name), where=where)
    parameters: list[Parameter] = []
    for p in params[2:]:
        if p.kind not in positional:
            raise ContractDefinitionError(f"{where}: parameter {p.name!r} must be positional "
                                          f"(arguments arrive as a list), found {p.kind.description}")
        if p.name not in hints:
            raise ContractDefinitionError(f"{where}: parameter {p.name!r} needs a type hint "
                                          f"(it says how the string argument is read)")
        shape = reader.argument(hints[p.name], f"{where} parameter {p.name!r}")
        has_default = p.default is not inspect.Parameter.empty  # left off: Python supplies it
        parameters.append(Parameter(p.name, shape, required=not has_default))
    returns: Shape | None = None
    if "return" in hints and hints["return"] is not type(None):
        returns = reader.result(hints["return"], f"{where} return type")
    return Transaction(name=transaction_name(attribute, mark), attribute=attribute, submit=mark.submit,
                       parameters=tuple(parameters), returns=returns)


def _hints(function: object, skip: tuple[str, ...], where: str) -> dict[str, object]:
    """The resolved hints of the parameters that carry arguments, and of the result.

    The hints of `self` and `ctx` are left alone: they say nothing about the wire, and
    a Context subclass named there need not be resolvable from the module's globals.
    """
    annotations = {k: v for k, v in getattr(function, "__annotations__", {}).items() if k not in skip}
    holder = SimpleNamespace(__annotations__=annotations)
    try:
        return typing.get_type_hints(holder, globalns=getattr(function, "__globals__", {}))
    except Exception as exc:
        raise ContractDefinitionError(f"{where}: cannot resolve its type hints: {exc}") from exc
