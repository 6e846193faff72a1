"""The dependency direction of ARCHITECTURE.md, enforced.

`peer`, `orderer` and `chaincode` depend on `consortia`, never on each other; the
kernel imports no node (its launcher and CLI start nodes as processes, not imports);
`chaincode` stays light: of the kernel it may use only a few small modules.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.lint

NODES = ("peer", "orderer", "chaincode")
# What chaincode may import from the kernel (grow this list deliberately).
CHAINCODE_MAY_USE = ("consortia.errors", "consortia.types", "consortia.msp.identity", "consortia.grpcenv",
                     "consortia.outbox")


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top(name: str) -> str:
    return name.split(".", 1)[0]


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def test_kernel_imports_no_node() -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in modules("consortia")
        for name in imports_of(path)
        if top(name) in NODES
    ]
    assert not offenders, offenders


@pytest.mark.parametrize("node", NODES)
def test_nodes_do_not_import_each_other(node: str) -> None:
    others = set(NODES) - {node}
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in modules(node)
        for name in imports_of(path)
        if top(name) in others
    ]
    assert not offenders, offenders


def test_chaincode_uses_only_small_kernel_parts() -> None:
    offenders = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in modules("chaincode")
        for name in imports_of(path)
        if top(name) == "consortia" and not name.startswith(CHAINCODE_MAY_USE)
    ]
    assert not offenders, offenders


def test_the_checker_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import peer.ledger\nfrom orderer import x\nfrom . import y\n")
    assert imports_of(sample) == {"peer.ledger", "orderer"}
