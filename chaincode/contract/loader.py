"""Loading the contracts of a contract package folder.

A contract package is a folder with an `__init__.py`, deployed as a chaincode. It is
imported under a module name of its own (derived from its absolute path), so two
packages whose folders share a name (`asset`) do not collide, and sys.path is left
as it was: the package reaches its own modules with relative imports
(`from .model import Asset`) and anything else through the environment.

The package says which contracts it serves with a module-level `contracts` list
(instances, or classes to instantiate with no arguments; the first is the default).
Without one, every Contract subclass defined in the package and bound in its
top-level namespace is served, in the order of that namespace.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from types import ModuleType

from chaincode.contract.contract import Contract
from chaincode.contract.errors import ContractLoadError


def load_contracts(path: str | os.PathLike[str]) -> list[Contract]:
    """Import the contract package at `path` and return its contracts (the default first)."""
    folder = Path(path).resolve()
    if not folder.is_dir():
        raise ContractLoadError(f"contract package {folder} is not a folder (it does not exist or is a file)")
    init = folder / "__init__.py"
    if not init.is_file():
        raise ContractLoadError(f"contract package {folder} has no __init__.py; a contract package is a Python package")
    module = _import_package(folder, init)
    declared = getattr(module, "contracts", None)
    if declared is not None:
        contracts = _from_declared(folder, declared)
    else:
        contracts = _from_namespace(folder, module)
    if not contracts:
        raise ContractLoadError(f"contract package {folder} defines no contracts (no Contract subclass in its "
                                f"top-level namespace and no `contracts` list)")
    return contracts


def module_name(folder: Path) -> str:
    """A module name unique to the folder's absolute path."""
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
    safe = re.sub(r"\W", "_", folder.name)
    return f"consortia_contracts_{safe}_{digest}"


def _import_package(folder: Path, init: Path) -> ModuleType:
    name = module_name(folder)
    _forget(name)  # a fresh import each time: a reload picks up edited files
    spec = importlib.util.spec_from_file_location(name, init, submodule_search_locations=[str(folder)])
    if spec is None or spec.loader is None:
        raise ContractLoadError(f"contract package {folder}: cannot make an import spec for {init}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        _forget(name)
        raise ContractLoadError(f"contract package {folder} failed to import: {type(exc).__name__}: {exc}") from exc
    return module


def _forget(name: str) -> None:
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]


def _from_declared(folder: Path, declared: object) -> list[Contract]:
    if not isinstance(declared, (list, tuple)):
        raise ContractLoadError(f"contract package {folder}: `contracts` must be a list of contracts, "
                                f"found {type(declared).__name__}")
    contracts: list[Contract] = []
    for index, entry in enumerate(declared):
        if isinstance(entry, Contract):
            contracts.append(entry)
        elif isinstance(entry, type) and issubclass(entry, Contract):
            contracts.append(_instantiate(folder, entry))
        else:
            raise ContractLoadError(f"contract package {folder}: contracts[{index}] must be a Contract "
                                    f"instance or subclass, found {entry!r}")
    return contracts


def _from_namespace(folder: Path, module: ModuleType) -> list[Contract]:
    package = module.__name__
    classes: list[type[Contract]] = []
    for value in vars(module).values():
        if (isinstance(value, type) and issubclass(value, Contract) and value is not Contract
                and (value.__module__ == package or value.__module__.startswith(package + "."))
                and value not in classes):
            classes.append(value)
    return [_instantiate(folder, cls) for cls in classes]


def _instantiate(folder: Path, cls: type[Contract]) -> Contract:
    try:
        return cls()
    except Exception as exc:
        raise ContractLoadError(f"contract package {folder}: {cls.__qualname__}() failed: "
                                f"{type(exc).__name__}: {exc}") from exc
