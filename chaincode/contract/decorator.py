"""The `transaction` decorator: which methods of a contract clients may call.

A contract class holds helpers as well as transactions, so a method is callable from
outside only when it is marked. The mark records two things Fabric's contract
metadata carries: the name clients call it by, and whether it is meant to be
submitted (endorsed, ordered, committed) or only evaluated (a query on one peer).
The API does not enforce the second; a Fabric client decides how to send a proposal,
and the metadata tells it which one the author intended.

The decorator returns the function itself, so a transaction is still an ordinary
method that other code (and tests) can call directly.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])

MARK = "__contract_transaction__"


@dataclass(frozen=True)
class TransactionMark:
    """What `@transaction` records on a method."""

    name: str | None  # None: the method's own name
    submit: bool


@overload
def transaction(function: F, /) -> F: ...


@overload
def transaction(*, submit: bool = True, name: str | None = None) -> Callable[[F], F]: ...


def transaction(function: F | None = None, /, *, submit: bool = True,
                name: str | None = None) -> F | Callable[[F], F]:
    """Mark a contract method as a transaction.

    `@transaction` marks a submit transaction named after the method;
    `@transaction(submit=False)` marks an evaluate (query) transaction, and
    `name="..."` sets the name clients call it by.
    """
    if name is not None and not (isinstance(name, str) and name):
        raise TypeError(f"transaction name must be a non-empty string, found {name!r}")

    def mark(target: F) -> F:
        if not callable(target) or isinstance(target, (staticmethod, classmethod)):
            raise TypeError(f"@transaction marks methods of a Contract, found {target!r}")
        setattr(target, MARK, TransactionMark(name=name, submit=submit))
        return target

    if function is None:
        return mark
    if isinstance(function, str):
        raise TypeError("use @transaction(name=...) to name a transaction")
    return mark(function)


def marked_methods(cls: type) -> list[tuple[str, TransactionMark]]:
    """The transactions of a class as (attribute, mark), base classes' first, in definition order.

    A subclass that overrides a transaction without marking it again takes it away,
    as the method a client would reach is no longer marked.
    """
    found: list[tuple[str, TransactionMark]] = []
    for attribute in _definition_order(cls):
        mark = getattr(inspect.getattr_static(cls, attribute, None), MARK, None)
        if isinstance(mark, TransactionMark):
            found.append((attribute, mark))
    return found


def _definition_order(cls: type) -> list[str]:
    order: list[str] = []
    seen: set[str] = set()
    for klass in reversed(cls.__mro__):
        for attribute in vars(klass):
            if attribute not in seen:
                seen.add(attribute)
                order.append(attribute)
    return order


def transaction_name(attribute: str, mark: TransactionMark) -> str:
    return mark.name if mark.name is not None else attribute
