"""The errors of the contract API.

A transaction fails by raising: `ContractError` is the deliberate refusal a contract
author raises ("you may not", "no such asset"), and it reaches the client as the
response message `"CODE: message"`, so a client can match on the code without parsing
prose. The two other errors are for the people who write and deploy contracts: a
contract class that cannot be served, and a contract package that cannot be loaded.
Both are raised before any transaction runs.
"""

from __future__ import annotations

import re

from consortia.errors import ConsortiaError

CODE = re.compile(r"[A-Z][A-Z0-9_]*")


class ContractError(ConsortiaError):
    """A transaction refused on purpose; becomes a status-500 response `"CODE: message"`.

    The code is one of the application's error codes (`ERR_UNAUTHORIZED`,
    `ERR_NOT_FOUND`, ...); without one the response message is the message alone.
    """

    def __init__(self, message: str, code: str | None = None) -> None:
        if code is not None and not CODE.fullmatch(code):
            # Most likely the arguments are swapped: the message comes first.
            raise TypeError(f"ContractError(message, code): code must look like ERR_NOT_FOUND "
                            f"(A-Z, 0-9, _), found {code!r}")
        self.message = message
        self.code = code
        super().__init__(f"{code}: {message}" if code else message)


class ContractDefinitionError(ConsortiaError):
    """A contract cannot be served as written (bad type hint, duplicate name, ...)."""


class ContractLoadError(ConsortiaError):
    """A contract package folder cannot be turned into contracts."""
