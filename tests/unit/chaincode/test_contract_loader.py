"""load_contracts: a contract package folder becomes a list of contracts, or a clear error."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from chaincode.contract import (
    Contract,
    ContractChaincode,
    ContractLoadError,
    load_contracts,
)
from chaincode.contract.loader import module_name
from tests.unit.chaincode.fakes import FakeLedger

pytestmark = pytest.mark.unit

GREETER = """
from chaincode.contract import Context, Contract, transaction

class {name}(Contract):
    @transaction
    def hello(self, ctx: Context) -> str:
        return {reply!r}
"""


def package(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for filename, text in files.items():
        (folder / filename).write_text(textwrap.dedent(text))
    return folder


def names(contracts: list[Contract]) -> list[str]:
    return [c.name for c in contracts]


def test_contracts_list_is_used_in_its_order(tmp_path: Path) -> None:
    folder = package(tmp_path, "market", {
        "__init__.py": """
            from .first import First
            from .second import Second
            from chaincode.contract import Contract

            class NotListed(Contract):
                pass

            contracts = [Second(), First, Second(name="again")]
        """,
        "first.py": GREETER.format(name="First", reply="first"),
        "second.py": GREETER.format(name="Second", reply="second"),
    })
    contracts = load_contracts(folder)
    assert names(contracts) == ["Second", "First", "again"]
    assert all(isinstance(c, Contract) for c in contracts)
    response = FakeLedger().invoke(ContractChaincode(*contracts), "hello")
    assert response.payload == b"second"  # the first listed is the default


def test_without_a_list_the_packages_own_contract_classes_are_served(tmp_path: Path) -> None:
    folder = package(tmp_path, "registry", {
        "__init__.py": """
            from chaincode.contract import Context, Contract, transaction
            from chaincode.contracts.asset.contract import AssetContract  # defined elsewhere: not served
            from .extra import Extra

            class Zeta(Contract):
                @transaction
                def z(self, ctx: Context) -> None: ...

            class Alpha(Contract):
                @transaction
                def a(self, ctx: Context) -> None: ...

            AlsoZeta = Zeta  # the same class twice is served once
            helper_value = 3
        """,
        "extra.py": GREETER.format(name="Extra", reply="extra"),
    })
    assert names(load_contracts(folder)) == ["Extra", "Zeta", "Alpha"]


def test_packages_with_one_folder_name_do_not_collide(tmp_path: Path) -> None:
    one = package(tmp_path / "a", "asset", {"__init__.py": GREETER.format(name="One", reply="1")})
    two = package(tmp_path / "b", "asset", {"__init__.py": GREETER.format(name="Two", reply="2")})
    assert names(load_contracts(one)) == ["One"]
    assert names(load_contracts(two)) == ["Two"]
    assert module_name(one) != module_name(two)
    assert module_name(one) in sys.modules and module_name(two) in sys.modules


def test_sys_path_is_left_alone(tmp_path: Path) -> None:
    folder = package(tmp_path, "quiet", {"__init__.py": GREETER.format(name="Quiet", reply="q")})
    before = list(sys.path)
    load_contracts(str(folder))
    assert sys.path == before
    assert "quiet" not in sys.modules


def test_loading_again_imports_afresh(tmp_path: Path) -> None:
    folder = package(tmp_path, "live", {
        "__init__.py": "from .impl import Live\n",
        "impl.py": GREETER.format(name="Live", reply="old"),
    })
    old = load_contracts(folder)
    (folder / "impl.py").write_text(GREETER.format(name="Live", reply="new"))
    new = load_contracts(folder)
    assert type(old[0]) is not type(new[0])
    assert FakeLedger().invoke(ContractChaincode(*new), "hello").payload == b"new"


# ----- errors -------------------------------------------------------------------------------


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ContractLoadError, match="is not a folder"):
        load_contracts(tmp_path / "nowhere")


def test_file_instead_of_folder(tmp_path: Path) -> None:
    (tmp_path / "contract.py").write_text(GREETER.format(name="X", reply="x"))
    with pytest.raises(ContractLoadError, match="is not a folder"):
        load_contracts(tmp_path / "contract.py")


def test_folder_without_init(tmp_path: Path) -> None:
    folder = tmp_path / "loose"
    folder.mkdir()
    (folder / "contract.py").write_text(GREETER.format(name="X", reply="x"))
    with pytest.raises(ContractLoadError, match="has no __init__.py"):
        load_contracts(folder)


@pytest.mark.parametrize("source, shown", [
    ("import no_such_module_for_contracts\n", "ModuleNotFoundError: No module named 'no_such_module_for_contracts'"),
    ("def broken(:\n", "SyntaxError: "),
    ("raise RuntimeError('bad configuration')\n", "RuntimeError: bad configuration"),
    ("from .missing import Thing\n", "ModuleNotFoundError: "),
])
def test_import_errors_carry_the_exception_text(tmp_path: Path, source: str, shown: str) -> None:
    folder = package(tmp_path, "broken", {"__init__.py": source})
    with pytest.raises(ContractLoadError, match="failed to import") as info:
        load_contracts(folder)
    assert shown in str(info.value)
    assert module_name(folder.resolve()) not in sys.modules


def test_package_without_contracts(tmp_path: Path) -> None:
    folder = package(tmp_path, "empty", {"__init__.py": "from chaincode.contract import Contract\nVALUE = 1\n"})
    with pytest.raises(ContractLoadError, match="defines no contracts"):
        load_contracts(folder)


def test_empty_contracts_list(tmp_path: Path) -> None:
    folder = package(tmp_path, "nothing", {"__init__.py": "contracts = []\n"})
    with pytest.raises(ContractLoadError, match="defines no contracts"):
        load_contracts(folder)


@pytest.mark.parametrize("declaration, message", [
    ("contracts = 'AssetContract'", "`contracts` must be a list of contracts, found str"),
    ("contracts = [42]", r"contracts\[0\] must be a Contract instance or subclass, found 42"),
    ("contracts = [Contract(), object]", r"contracts\[1\] must be a Contract instance or subclass"),
])
def test_malformed_contracts_list(tmp_path: Path, declaration: str, message: str) -> None:
    folder = package(tmp_path, "odd", {"__init__.py": f"from chaincode.contract import Contract\n{declaration}\n"})
    with pytest.raises(ContractLoadError, match=message):
        load_contracts(folder)


def test_contract_class_that_cannot_be_instantiated(tmp_path: Path) -> None:
    folder = package(tmp_path, "needy", {"__init__.py": """
        from chaincode.contract import Contract

        class Needy(Contract):
            def __init__(self, config: str) -> None:
                super().__init__()
    """})
    with pytest.raises(ContractLoadError, match=r"Needy\(\) failed: TypeError: "):
        load_contracts(folder)
