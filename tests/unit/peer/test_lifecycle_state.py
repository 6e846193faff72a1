"""Where a peer finds the package its org runs for a committed definition: its org's
approval, private data of the org's implicit collection of `_lifecycle` (or, on a ledger
written before approvals were private, the public approval record)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, closing
from pathlib import Path

import pytest
from fabric_protos.peer.lifecycle import lifecycle_pb2

from consortia.lifecycle.collections import implicit_collection
from consortia.lifecycle.definition import LIFECYCLE, Definition, encode, normalized
from peer.ledger.pvtdata import hashed_ns, key_hash, private_ns, value_hash
from peer.ledger.rwset import Version
from peer.ledger.statedb import BlockUpdates, StateDB, StateReader, StateUpdate
from peer.lifecycle import state
from peer.lifecycle.definitions import Definitions

pytestmark = pytest.mark.unit

ORG1 = "Org1MSP"
DEFINITION = normalized("asset", lifecycle_pb2.CommitChaincodeDefinitionArgs(sequence=2, version="2.0"))


def source(package_id: str) -> lifecycle_pb2.ChaincodeSource:
    chosen = lifecycle_pb2.ChaincodeSource()
    chosen.local_package.package_id = package_id
    return chosen


class Ledger:
    def __init__(self, folder: Path) -> None:
        self.db = StateDB(folder / "state.db")
        self.blocks = 0

    def commit(self, updates: dict[tuple[str, str], bytes]) -> None:
        self.blocks += 1
        version = Version(self.blocks, 0)
        self.db.apply(BlockUpdates(number=self.blocks, state={k: StateUpdate(v, version) for k, v in updates.items()},
                                   history=[], txids=[], commit_hash=b"h"))

    def definitions(self, msp_id: str = ORG1) -> Definitions:
        def readers(channel_id: str) -> AbstractContextManager[StateReader]:
            return closing(self.db.reader())

        return Definitions(msp_id, [], readers)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    made = Ledger(tmp_path)
    made.commit({(LIFECYCLE, state.definition_key("asset")): encode(DEFINITION)})
    yield made
    made.db.close()


def approval(definition: Definition, package_id: str, msp_id: str = ORG1) -> dict[tuple[str, str], bytes]:
    """An org's approval as its own peers commit it: values, and the hashes all peers keep."""
    collection = implicit_collection(msp_id)
    updates: dict[tuple[str, str], bytes] = {}
    for key, value in state.approval_writes(definition, source(package_id)).items():
        updates[(private_ns(LIFECYCLE, collection), key)] = value
        updates[(hashed_ns(LIFECYCLE, collection), key_hash(key).hex())] = value_hash(value)
    return updates


def test_a_peer_runs_the_package_of_its_orgs_private_approval(ledger: Ledger) -> None:
    ledger.commit(approval(DEFINITION, "asset_2:abc"))
    assert ledger.definitions().committed("ch", "asset") == (DEFINITION, "asset_2:abc")
    assert ledger.definitions("Org2MSP").committed("ch", "asset") == (DEFINITION, None)  # Org2 approved nothing


def test_an_approval_of_other_parameters_runs_nothing(ledger: Ledger) -> None:
    other = normalized("asset", lifecycle_pb2.CommitChaincodeDefinitionArgs(sequence=2, version="2.1"))
    ledger.commit(approval(other, "asset_2:abc"))
    assert ledger.definitions().committed("ch", "asset") == (DEFINITION, None)


def test_the_hashes_tell_any_peer_who_approved_and_how_approvals_differ(ledger: Ledger) -> None:
    other = normalized("asset", lifecycle_pb2.CommitChaincodeDefinitionArgs(sequence=2, version="2.1",
                                                                            init_required=True))
    ledger.commit({**approval(DEFINITION, "asset_2:abc"), **approval(other, "asset_2:def", "Org2MSP")})
    with closing(ledger.db.reader()) as reader:
        def hashes(msp_id: str, key: str) -> bytes | None:
            found = reader.get(hashed_ns(LIFECYCLE, implicit_collection(msp_id)), key_hash(key).hex())
            return None if found is None else found.value

        found = state.approvals(hashes, DEFINITION, [ORG1, "Org2MSP", "Org3MSP"])
    assert found.approved == {ORG1: True, "Org2MSP": False, "Org3MSP": False}
    assert found.mismatches == {"Org2MSP": ["version", "init_required"]}


def test_a_ledger_with_public_approvals_keeps_running_its_chaincodes(ledger: Ledger) -> None:
    legacy = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs(name="asset", sequence=2, version="2.0",
                                                                  source=source("asset_2:old"))
    ledger.commit({(LIFECYCLE, f"approvals/asset/2/{ORG1}"): legacy.SerializeToString()})
    assert ledger.definitions().committed("ch", "asset") == (DEFINITION, "asset_2:old")
    assert ledger.definitions("Org2MSP").committed("ch", "asset") == (DEFINITION, None)
