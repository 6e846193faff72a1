"""The peer's store of installed packages: what it keeps, and ids it will not follow."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from consortia.lifecycle.package import package_python
from peer.lifecycle.store import PackageStore

pytestmark = pytest.mark.unit


@pytest.fixture
def raw(tmp_path: Path) -> bytes:
    folder = tmp_path / "mycc"
    folder.mkdir()
    (folder / "__init__.py").write_text("contracts = []\n")
    return package_python(folder, "mycc_1")


def test_an_installed_package_is_found_by_its_id_after_a_restart(tmp_path: Path, raw: bytes) -> None:
    package, new = PackageStore(tmp_path / "lifecycle").install(raw)
    assert new
    assert PackageStore(tmp_path / "lifecycle").install(raw)[1] is False
    found = PackageStore(tmp_path / "lifecycle").get(package.package_id)
    assert found is not None and found.raw == raw


def test_an_id_that_is_no_package_id_is_never_followed_out_of_the_store(tmp_path: Path, raw: bytes) -> None:
    store = PackageStore(tmp_path / "lifecycle")
    package, _ = store.install(raw)
    digest = package.package_id.rpartition(":")[2]
    # A valid package file one folder above the store, which "../label:digest" would name.
    (tmp_path / "lifecycle" / "packages").mkdir(exist_ok=True)
    shutil.copy(next((tmp_path / "lifecycle" / "packages").iterdir()), tmp_path / "lifecycle" / f"x.{digest}.tar.gz")
    assert store.get(f"../x:{digest}") is None
    assert store.get("mycc_1") is None
    assert store.get(package.package_id) is not None


@pytest.mark.parametrize("damage", ["truncated", "another package's bytes"])
def test_a_damaged_package_counts_as_not_installed_and_installing_it_again_repairs_it(
        tmp_path: Path, raw: bytes, damage: str, caplog: pytest.LogCaptureFixture) -> None:
    package, _ = PackageStore(tmp_path / "lifecycle").install(raw)
    (stored,) = (tmp_path / "lifecycle" / "packages").iterdir()
    if damage == "truncated":
        stored.write_bytes(raw[:300])
    else:  # a readable package, but not the one its name promises
        other = tmp_path / "other"
        other.mkdir()
        (other / "__init__.py").write_text("contracts = []  # another\n")
        stored.write_bytes(package_python(other, "mycc_1"))

    store = PackageStore(tmp_path / "lifecycle")  # as after a restart
    with caplog.at_level(logging.ERROR, logger="peer.lifecycle.store"):
        assert store.get(package.package_id) is None
        assert store.list() == []
    assert caplog.text.count(f"installed package {package.package_id} is damaged") == 1  # said once

    assert store.install(raw)[1] is True  # replaced, not "already installed"
    assert stored.read_bytes() == raw
    found = PackageStore(tmp_path / "lifecycle").get(package.package_id)
    assert found is not None and found.raw == raw
