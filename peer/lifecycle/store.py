"""The chaincode packages installed on this peer, on disk.

    <data_dir>/lifecycle/packages/<label>.<sha256>.tar.gz

A package is written under a temporary name, flushed to disk, and renamed into place,
so a crash never leaves a half-installed package. Python packages are unpacked once,
into `<data_dir>/lifecycle/build/<sha256>/`, when first launched.
"""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from consortia.lifecycle.package import (
    ChaincodePackage,
    PackageError,
    is_package_id,
    read_package,
)

log = logging.getLogger(__name__)

SUFFIX = ".tar.gz"


class PackageStore:
    def __init__(self, root: Path) -> None:
        self.packages = root / "packages"
        self.build = root / "build"
        self._cache: dict[str, ChaincodePackage] = {}
        self._reported: set[str] = set()  # damaged packages already logged

    def _path(self, package_id: str) -> Path:
        label, _, digest = package_id.rpartition(":")
        return self.packages / f"{label}.{digest}{SUFFIX}"

    def install(self, raw: bytes) -> tuple[ChaincodePackage, bool]:
        """Store a package (checked first); the package, and False if it was already there.
        A stored copy that is damaged (see `get`) is replaced: installing the package again
        is how an operator repairs it."""
        package = read_package(raw)
        path = self._path(package.package_id)
        if path.exists():
            if self.get(package.package_id) is not None:
                return package, False
            log.warning("replacing the damaged copy of package %s with the one being installed", package.package_id)
        self.packages.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        tmp.replace(path)
        self._reported.discard(package.package_id)
        directory = os.open(self.packages, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._cache[package.package_id] = package
        return package, True

    def get(self, package_id: str) -> ChaincodePackage | None:
        package = self._cache.get(package_id)
        if package is not None:
            return package
        if not is_package_id(package_id):
            return None  # and never a path outside the package folder
        path = self._path(package_id)
        if not path.is_file():
            return None
        try:
            package = read_package(path.read_bytes())
        except (OSError, PackageError) as exc:
            self._damaged(package_id, str(exc))
            return None
        if package.package_id != package_id:
            self._damaged(package_id, f"its bytes hash to {package.package_id}")
            return None
        self._cache[package_id] = package
        return package

    def _damaged(self, package_id: str, why: str) -> None:
        """A stored package that cannot be read back is not installed: said once."""
        if package_id not in self._reported:
            self._reported.add(package_id)
            log.error("installed package %s is damaged (%s): it counts as not installed until it is installed "
                      "again", package_id, why)

    def list(self) -> list[ChaincodePackage]:
        if not self.packages.is_dir():
            return []
        found = []
        for path in sorted(self.packages.glob(f"*{SUFFIX}")):
            label, _, digest = path.name[: -len(SUFFIX)].rpartition(".")
            package = self.get(f"{label}:{digest}")
            if package is not None:
                found.append(package)
        return found

    def unpacked(self, package: ChaincodePackage) -> Path:
        """The contract folder of a python package, unpacked on first use."""
        digest = package.package_id.rpartition(":")[2]
        target = self.build / digest
        if not target.is_dir():
            staging = self.build / f"{digest}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            package.extract(staging)
            staging.replace(target)
        return target / "src" / package.path
