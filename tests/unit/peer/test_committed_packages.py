"""Which packages a peer runs for the committed definitions: one that cannot be unpacked
is left out, with its reason for proposals, and does not keep the others from running."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import pytest
from fabric_protos.peer import chaincode_pb2, proposal_pb2

from consortia.lifecycle.package import CANNOT_START, package_python
from peer.chaincode.handler import ChaincodeCallError
from peer.chaincode.registry import ChaincodeRegistry
from peer.lifecycle.store import PackageStore
from peer.node import committed_packages

pytestmark = pytest.mark.unit


class CommittedDefinitions:
    """Definitions committed on each channel, with the package this org chose."""

    def __init__(self, committed: dict[str, list[tuple[str, str]]]) -> None:
        self._committed = committed

    def all_committed(self, channel_id: str) -> list[tuple[SimpleNamespace, str]]:
        return [(SimpleNamespace(name=name, sequence=1), package_id)
                for name, package_id in self._committed.get(channel_id, [])]


def install(store: PackageStore, tmp_path: Path, name: str) -> str:
    folder = tmp_path / "src" / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("contracts = []\n")
    package, _ = store.install(package_python(folder, f"{name}_1"))
    return package.package_id


async def refusal(registry: ChaincodeRegistry, package_id: str) -> str:
    with pytest.raises(ChaincodeCallError) as refused:
        await registry.execute("ch1", "broken", "tx1", chaincode_pb2.ChaincodeInput(), proposal_pb2.SignedProposal(),
                               simulator=None,  # type: ignore[arg-type] # never reached: nothing runs
                               chaincode_id=package_id)
    return str(refused.value)


def test_a_package_that_cannot_be_unpacked_is_left_out_and_its_reason_told(tmp_path: Path) -> None:
    store = PackageStore(tmp_path / "lifecycle")
    broken, good, other = (install(store, tmp_path, name) for name in ("broken", "good", "other"))
    # Unpacking `broken` fails as a full disk would: its staging folder cannot be made.
    store.build.mkdir(parents=True)
    (store.build / f"{broken.rpartition(':')[2]}.tmp").write_text("in the way")
    definitions = CommittedDefinitions({"ch1": [("broken", broken), ("good", good)], "ch2": [("other", other)]})
    registry = ChaincodeRegistry(timeout=1.0, startup_timeout=1.0)

    wanted = committed_packages(["ch1", "ch2"], definitions, store, registry)  # type: ignore[arg-type]

    assert sorted(wanted) == sorted([good, other])
    assert wanted[good][1] == store.build / good.rpartition(":")[2] / "src" / "good"
    assert (wanted[good][1] / "__init__.py").is_file()
    message = asyncio.run(refusal(registry, broken))
    assert f"chaincode {broken} is not running on this peer ({CANNOT_START}: its package could not be unpacked:" \
        in message  # CANNOT_START: `network up` stops waiting for it


def test_a_package_not_installed_here_is_left_out(tmp_path: Path) -> None:
    store = PackageStore(tmp_path / "lifecycle")
    good = install(store, tmp_path, "good")
    missing = "missing_1:" + "0" * 64
    definitions = CommittedDefinitions({"ch1": [("missing", missing), ("good", good)]})

    wanted = committed_packages(["ch1"], definitions, store, ChaincodeRegistry(timeout=1.0))  # type: ignore[arg-type]

    assert list(wanted) == [good]
