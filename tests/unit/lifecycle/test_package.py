"""Chaincode packages: Fabric's layout, package ids, and what a peer refuses to install."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from consortia.lifecycle.package import (
    Connection,
    PackageError,
    _tar_gz,
    calculate_package_id,
    is_package_id,
    package_ccaas,
    package_python,
    read_package,
)

pytestmark = pytest.mark.unit

CERT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
def contract(tmp_path: Path) -> Path:
    folder = tmp_path / "mycc"
    folder.mkdir()
    (folder / "__init__.py").write_text("contracts = []\n")
    (folder / "logic.py").write_text("X = 1\n")
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "logic.cpython-311.pyc").write_bytes(b"junk")
    return folder


def names(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        return archive.getnames()


def test_python_package_has_fabrics_layout_and_id(contract: Path) -> None:
    raw = package_python(contract, "mycc_1")
    assert names(raw) == ["metadata.json", "code.tar.gz"]
    package = read_package(raw)
    assert (package.label, package.type, package.path) == ("mycc_1", "python", "mycc")
    assert package.package_id == f"mycc_1:{hashlib.sha256(raw).hexdigest()}"
    assert sorted(names(package.code)) == ["src/mycc/__init__.py", "src/mycc/logic.py"]  # no __pycache__


def test_packaging_is_deterministic_and_content_sensitive(contract: Path) -> None:
    first = package_python(contract, "mycc_1")
    assert package_python(contract, "mycc_1") == first
    (contract / "logic.py").write_text("X = 2\n")
    assert read_package(package_python(contract, "mycc_1")).package_id != read_package(first).package_id


def test_extract_gives_the_contract_folder(contract: Path, tmp_path: Path) -> None:
    (contract / "sub").mkdir()
    (contract / "sub" / "deep.py").write_text("Y = 2\n")
    folder = read_package(package_python(contract, "mycc_1")).extract(tmp_path / "out")
    assert folder == tmp_path / "out" / "src" / "mycc"
    assert (folder / "logic.py").read_text() == "X = 1\n"
    assert (folder / "sub" / "deep.py").read_text() == "Y = 2\n"
    written = sorted(str(p.relative_to(tmp_path / "out")) for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert written == ["src/mycc/__init__.py", "src/mycc/logic.py", "src/mycc/sub/deep.py"]


def test_extract_does_not_rely_on_tarfiles_extraction(contract: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Python before 3.11.4 (Debian 12's 3.11.2) has no `filter=` for extractall."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("tarfile extraction used")

    package = read_package(package_python(contract, "mycc_1"))
    monkeypatch.setattr(tarfile.TarFile, "extractall", refuse)
    monkeypatch.setattr(tarfile.TarFile, "extract", refuse)
    assert (package.extract(tmp_path / "out") / "logic.py").read_text() == "X = 1\n"


def test_ccaas_package_carries_the_connection() -> None:
    raw = package_ccaas(Connection(address="127.0.0.1:9999", tls_required=True, root_cert=CERT), "svc_1")
    package = read_package(raw)
    assert package.type == "ccaas"
    assert package.connection().address == "127.0.0.1:9999"
    assert package.connection().root_cert == CERT


@pytest.mark.parametrize(("connection", "message"), [
    (Connection(address="nowhere"), "address"),
    (Connection(address="127.0.0.1:1", tls_required=True), "no root_cert"),
])
def test_bad_connections_are_refused(connection: Connection, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        package_ccaas(connection, "svc_1")


def test_bad_labels_and_folders(contract: Path, tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="invalid label"):
        package_python(contract, "-bad")
    with pytest.raises(PackageError, match="invalid label"):  # Fabric's rule ends at the end of the text
        package_python(contract, "good\n")
    with pytest.raises(PackageError, match="does not exist"):
        package_python(tmp_path / "missing", "x")
    (tmp_path / "plain").mkdir()
    with pytest.raises(PackageError, match="no __init__.py"):
        package_python(tmp_path / "plain", "x")


def outer(metadata: object, code: bytes | None) -> bytes:
    files = [("metadata.json", json.dumps(metadata).encode())]
    if code is not None:
        files.append(("code.tar.gz", code))
    return _tar_gz(files)


def unsafe_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.py")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    return out.getvalue()


@pytest.mark.parametrize(("raw", "message"), [
    (b"not a tarball", "not a valid tar.gz"),
    (outer({"type": "python", "label": "a"}, None), "no code.tar.gz"),
    (outer({"type": "golang", "label": "a", "path": "x"}, _tar_gz([])), "type 'golang' cannot be run"),
    (outer({"type": "python", "label": "bad label", "path": "x"}, _tar_gz([])), "invalid label"),
    (outer({"type": "python", "label": "a", "path": "x"}, _tar_gz([])), "src/x/__init__.py"),
    (outer({"type": "ccaas", "label": "a"}, _tar_gz([])), "needs connection.json"),
    (outer({"type": "python", "label": "a", "path": "x"}, unsafe_tar()), "outside the package"),
    (outer(["not", "an", "object"], _tar_gz([])), "JSON object"),
])
def test_invalid_packages_are_refused_with_the_reason(raw: bytes, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        read_package(raw)


def test_calculated_id_is_the_installed_id_and_needs_only_the_label(contract: Path) -> None:
    raw = package_python(contract, "mycc_1")
    assert calculate_package_id(raw) == read_package(raw).package_id
    # As Fabric's calculatepackageid: a Go package, which this peer would not run, has an id too.
    golang = outer({"type": "golang", "label": "gocc_1", "path": "example.com/gocc"}, _tar_gz([]))
    assert calculate_package_id(golang) == f"gocc_1:{hashlib.sha256(golang).hexdigest()}"


@pytest.mark.parametrize(("raw", "message"), [
    (b"not a tarball", "not a valid tar.gz"),
    (outer({"type": "golang", "label": "a"}, None), "no code.tar.gz"),
    (outer({"type": "golang", "label": "bad label"}, _tar_gz([])), "invalid label"),
    (outer({"type": "golang"}, _tar_gz([])), "has no label"),
])
def test_calculating_an_id_refuses_what_is_no_package(raw: bytes, message: str) -> None:
    with pytest.raises(PackageError, match=message):
        calculate_package_id(raw)


def test_package_id_shape() -> None:
    digest = "ab" * 32
    assert is_package_id(f"mycc_1:{digest}")
    assert is_package_id(f"a.b+c-d:{digest}")
    for text in ("mycc_1", f":{digest}", f"mycc_1:{digest[:-1]}", f"mycc_1:{digest.upper()}",
                 f"../x:{digest}", f"a/b:{digest}", f"mycc_1:{digest}\n", f"mycc_1\n:{digest}"):
        assert not is_package_id(text), text
