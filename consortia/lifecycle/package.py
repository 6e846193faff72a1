"""Chaincode packages in Fabric 2.x's format, and their package ids.

    <label>.tar.gz
      metadata.json    {"type": "python" | "ccaas", "label": "...", "path": "..."}
      code.tar.gz      python: src/<folder>/... (the contract package)
                       ccaas:  connection.json (where the running service listens)

The package id is `label:sha256(package bytes)`, as Fabric computes it, so the same
file installed on two peers has the same id. Packaging is deterministic (sorted
entries, no timestamps or owners), so packaging an unchanged folder again gives the
same id: that is what lets `consortia network up` be run twice. Reading a package
checks everything a peer relies on (safe paths, sizes, a known type, a valid label and
connection.json) so an install fails with a reason instead of a launch failing later.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from consortia.config.node import split_address
from consortia.errors import ConsortiaError

PYTHON = "python"
CCAAS = "ccaas"
TYPES = (PYTHON, CCAAS)
METADATA = "metadata.json"
CODE = "code.tar.gz"
CONNECTION = "connection.json"
MAX_PACKAGE_BYTES = 100 * 1024 * 1024
# How a peer begins its reason for not running a package when trying again will not
# help (it cannot be unpacked, its process keeps exiting at start): whoever waits for the
# chaincode to run can stop waiting when it reads this.
CANNOT_START = "it cannot start"
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+\-]*")  # Fabric's label rule
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SKIPPED = {"__pycache__", ".git", ".mypy_cache", ".pytest_cache"}


class PackageError(ConsortiaError):
    """A package that cannot be made, or one that is not a valid chaincode package."""


@dataclass(frozen=True)
class Connection:
    """connection.json of a chaincode-as-a-service package (Fabric's ccaas builder)."""

    address: str
    dial_timeout: str = "10s"
    tls_required: bool = False
    client_auth_required: bool = False
    root_cert: str = ""  # PEM of the CA of the service's TLS certificate

    def to_json(self) -> bytes:
        document = {"address": self.address, "dial_timeout": self.dial_timeout, "tls_required": self.tls_required,
                    "client_auth_required": self.client_auth_required}
        if self.root_cert:
            document["root_cert"] = self.root_cert
        return json.dumps(document, indent=2).encode() + b"\n"


@dataclass(frozen=True)
class ChaincodePackage:
    """A package read and checked: what a peer stores and launches."""

    label: str
    type: str
    path: str  # the contract folder's name (python), "" for ccaas
    code: bytes  # code.tar.gz
    raw: bytes  # the whole package file

    @property
    def package_id(self) -> str:
        return package_id(self.label, self.raw)

    def connection(self) -> Connection:
        """The ccaas connection, as checked when the package was read."""
        return _parse_connection(_code_files(self.code)[CONNECTION])

    def extract(self, destination: Path) -> Path:
        """Unpack the code (python) into `destination`; the contract folder to run.

        Writes the regular files `_members` checked itself rather than trusting
        tarfile's extraction: its safe mode (`filter=`) needs Python 3.11.4, and
        Debian 12's Python is 3.11.2."""
        for name, content in _code_files(self.code).items():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return destination / "src" / self.path


def package_id(label: str, raw: bytes) -> str:
    return f"{label}:{hashlib.sha256(raw).hexdigest()}"


def is_package_id(text: str) -> bool:
    """Whether `text` has the shape of a package id: a valid label, ':', a SHA-256 in hex.
    Ids name files on peers and clients, so nothing else may be used as one."""
    label, _, digest = text.rpartition(":")
    return bool(_LABEL.fullmatch(label)) and bool(_DIGEST.fullmatch(digest))


def check_label(label: str) -> None:
    if not _LABEL.fullmatch(label):
        raise PackageError(f"invalid label {label!r}: start with a letter or digit; then letters, digits, "
                           "'_', '.', '+', '-'")


def _tar_gz(files: Iterable[tuple[str, bytes]]) -> bytes:
    """A deterministic tar.gz of (name, content) pairs, in the order given."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as gz, tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in files:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def _package(label: str, kind: str, path: str, code: bytes) -> bytes:
    check_label(label)
    metadata = json.dumps({"path": path, "type": kind, "label": label}, sort_keys=True).encode()
    return _tar_gz([(METADATA, metadata), (CODE, code)])


def package_python(folder: Path, label: str) -> bytes:
    """Package a contract folder (a Python package with __init__.py)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PackageError(f"chaincode folder {folder} does not exist")
    if not (folder / "__init__.py").is_file():
        raise PackageError(f"chaincode folder {folder} has no __init__.py; a contract package is a Python package")
    files = []
    for file in sorted(folder.rglob("*")):
        relative = file.relative_to(folder)
        if file.is_dir() or _SKIPPED & set(relative.parts) or file.suffix == ".pyc":
            continue
        files.append((f"src/{folder.name}/{relative.as_posix()}", file.read_bytes()))
    return _package(label, PYTHON, folder.name, _tar_gz(files))


def package_ccaas(connection: Connection, label: str) -> bytes:
    """Package a chaincode-as-a-service: the peer dials `connection.address`."""
    _parse_connection(connection.to_json())
    return _package(label, CCAAS, "", _tar_gz([(CONNECTION, connection.to_json())]))


def _members(data: bytes, what: str) -> dict[str, bytes]:
    """The regular files of a tar.gz by name; PackageError for anything unsafe."""
    files: dict[str, bytes] = {}
    total = 0
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
            for member in archive:
                name = PurePosixPath(member.name)
                if name.is_absolute() or ".." in name.parts:
                    raise PackageError(f"{what} has an entry outside the package: {member.name!r}")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise PackageError(f"{what} entry {member.name!r} is not a regular file")
                total += member.size
                if total > MAX_PACKAGE_BYTES:
                    raise PackageError(f"{what} unpacks to more than {MAX_PACKAGE_BYTES // (1024 * 1024)} MB")
                extracted = archive.extractfile(member)
                assert extracted is not None
                files[str(name)] = extracted.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise PackageError(f"{what} is not a valid tar.gz file: {exc}") from exc
    return files


def _code_files(code: bytes) -> dict[str, bytes]:
    return _members(code, CODE)


def _parse_connection(data: bytes) -> Connection:
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise PackageError(f"{CONNECTION} is not valid JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("address"), str):
        raise PackageError(f"{CONNECTION} needs an \"address\": \"host:port\" of the chaincode service")
    try:
        split_address(document["address"])
    except ValueError as exc:
        raise PackageError(f"{CONNECTION} address: {exc}") from exc
    tls = document.get("tls_required", False)
    if not isinstance(tls, bool):
        raise PackageError(f"{CONNECTION} tls_required must be true or false")
    root = document.get("root_cert", "")
    if tls and not (isinstance(root, str) and "BEGIN CERTIFICATE" in root):
        raise PackageError(f"{CONNECTION} requires TLS but has no root_cert (the PEM of the service's TLS CA)")
    return Connection(address=document["address"], dial_timeout=str(document.get("dial_timeout", "10s")),
                      tls_required=tls, client_auth_required=bool(document.get("client_auth_required", False)),
                      root_cert=root if isinstance(root, str) else "")


def calculate_package_id(raw: bytes) -> str:
    """The id a peer gives this package file when it is installed. As Fabric's
    `calculatepackageid`, only the label is read: a package of a type this peer does not
    run (golang, node) gets its id too."""
    _, _, label = _metadata(raw)
    return package_id(label, raw)


def _metadata(raw: bytes) -> tuple[dict[str, bytes], dict[str, Any], str]:
    """The package's files, its metadata.json and its label, checked."""
    if len(raw) > MAX_PACKAGE_BYTES:
        raise PackageError(f"the package is larger than {MAX_PACKAGE_BYTES // (1024 * 1024)} MB")
    files = _members(raw, "the package")
    missing = [name for name in (METADATA, CODE) if name not in files]
    if missing:
        raise PackageError(f"not a chaincode package: it has no {' and no '.join(missing)}")
    try:
        metadata = json.loads(files[METADATA])
    except ValueError as exc:
        raise PackageError(f"{METADATA} is not valid JSON: {exc}") from exc
    if not isinstance(metadata, dict):
        raise PackageError(f"{METADATA} must be a JSON object with type and label")
    label = metadata.get("label")
    if not isinstance(label, str):
        raise PackageError(f"{METADATA} has no label")
    check_label(label)
    return files, metadata, label


def read_package(raw: bytes) -> ChaincodePackage:
    """Check a package file; PackageError saying what is wrong with it."""
    files, metadata, label = _metadata(raw)
    kind, path = metadata.get("type"), metadata.get("path", "")
    if not isinstance(kind, str) or kind.lower() not in TYPES:
        raise PackageError(f"{METADATA} type {kind!r} cannot be run here: this peer runs {' and '.join(TYPES)} packages")
    kind = kind.lower()
    code = files[CODE]
    code_files = _code_files(code)
    if kind == CCAAS:
        if CONNECTION not in code_files:
            raise PackageError(f"a ccaas package needs {CONNECTION} in {CODE}")
        _parse_connection(code_files[CONNECTION])
        path = ""
    else:
        if not isinstance(path, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_\-]*$", path):
            raise PackageError(f"{METADATA} path {path!r} is not a contract folder name")
        if f"src/{path}/__init__.py" not in code_files:
            raise PackageError(f"{CODE} has no src/{path}/__init__.py: the contract package is missing")
    return ChaincodePackage(label=label, type=kind, path=path, code=code, raw=raw)
