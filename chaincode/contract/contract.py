"""Contract: a named group of transactions, with hooks around each of them.

A chaincode holds one or more contracts; a client calls `ContractName:function`, or
just `function` for the first (default) contract. Subclass `Contract`, mark methods
with `@transaction`, and override the hooks where a whole contract shares a concern:

    before_transaction(ctx)            after the arguments are parsed, before the method
    after_transaction(ctx, result)     after the method returned, before the result is sent
    unknown_transaction(ctx)           when the function is not a transaction of this contract
    create_context(stub)               to give transactions a Context subclass

Anything raised in a hook fails the transaction like an exception in the method.
A contract instance is shared by concurrent transactions: keep per-transaction state
on the context.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from chaincode.contract.context import Context
from chaincode.contract.decorator import marked_methods, transaction_name
from chaincode.contract.errors import ContractError
from chaincode.shim.stub import ChaincodeStub


class Contract:
    """Base class of contracts. `name` defaults to the class name."""

    name: str = "Contract"
    # Extra fields of the contract's `info` in the metadata (title, version, description, ...).
    info: ClassVar[Mapping[str, str]] = MappingProxyType({})

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "name" not in vars(cls):
            cls.name = cls.__name__

    def __init__(self, name: str | None = None) -> None:
        """`name` serves one class as two contracts under different names."""
        if name is not None:
            self.name = name

    def create_context(self, stub: ChaincodeStub) -> Context:
        return Context(stub)

    def before_transaction(self, ctx: Context) -> None:
        """Runs before every transaction of this contract (e.g. a common access check)."""

    def after_transaction(self, ctx: Context, result: object) -> None:
        """Runs after every transaction that returned (not after one that raised)."""

    def unknown_transaction(self, ctx: Context) -> object:
        """Called for a function this contract does not have; its return value is the result."""
        function, _ = ctx.stub.get_function_and_parameters()
        requested = function.split(":", 1)[1] if ":" in function else function
        available = ", ".join(transaction_name(attribute, mark) for attribute, mark in marked_methods(type(self)))
        raise ContractError(f"function {requested!r} is not a transaction of contract {self.name!r}; "
                            f"available: {available or 'none'}")

    def __repr__(self) -> str:
        return f"<{type(self).__qualname__} {self.name!r}>"
