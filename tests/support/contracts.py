"""Contract packages written by tests: the same contract in as many versions as needed."""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_versioned_contract(folder: Path, version: str) -> Path:
    """A contract package whose `version` function tells which package answers, with
    `put` and `get` on plain keys."""
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text(textwrap.dedent(f'''
        from chaincode.contract import Context, Contract, transaction

        class Versioned(Contract):
            @transaction(submit=False)
            def version(self, ctx: Context) -> str:
                return "{version}"

            @transaction
            def put(self, ctx: Context, key: str, value: str) -> None:
                ctx.stub.put_state(key, value.encode())

            @transaction(submit=False)
            def get(self, ctx: Context, key: str) -> str:
                return (ctx.stub.get_state(key) or b"").decode()

        contracts = [Versioned()]
    '''))
    return folder
