"""Before `network up` commits a definition, every peer has committed every org's
approval: otherwise a lagging peer endorses other read sets than the rest, and the
gateway refuses the commit (seen on the carbon-market network)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fabric_protos.peer.lifecycle import lifecycle_pb2

from consortia.endpoint import NodeEndpoint
from consortia.lifecycle import operations as ops
from consortia.network import deploy

pytestmark = pytest.mark.unit

PEER = NodeEndpoint("127.0.0.1:1", signer=None)  # type: ignore[arg-type]  # never used: no connection is made


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, bool]]]:
    """The approvals the peer reports, one answer per readiness check (the last repeats)."""
    given: list[dict[str, bool]] = []

    @contextmanager
    def connect(*_: Any, **__: Any) -> Iterator[None]:
        yield None

    def readiness(_gateway: Any, _channel: str, _definition: Any) -> lifecycle_pb2.CheckCommitReadinessResult:
        approvals = given.pop(0) if len(given) > 1 else given[0]
        return lifecycle_pb2.CheckCommitReadinessResult(approvals=approvals)

    monkeypatch.setattr(deploy, "connect", connect)
    monkeypatch.setattr(ops, "check_commit_readiness", readiness)
    monkeypatch.setattr(deploy.time, "sleep", lambda _: None)
    yield given


def test_waits_until_the_peer_has_every_approval(answers: list[dict[str, bool]]) -> None:
    answers.extend([{"A": True}, {"A": True, "B": False}, {"A": True, "B": True, "C": True}])
    deploy._wait_approved(PEER, "ch", [ops.definition("cc", "1", 1)], ["A", "B", "C"])
    assert len(answers) == 1  # it asked until the answer that had them all


def test_a_peer_that_never_sees_them_names_who_is_missing(answers: list[dict[str, bool]],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    answers.append({"A": True})
    monkeypatch.setattr(deploy, "READY_TIMEOUT", -1.0)
    with pytest.raises(deploy.DeployError, match=r"peer 127.0.0.1:1 still lacks the approvals of B, C for cc"):
        deploy._wait_approved(PEER, "ch", [ops.definition("cc", "1", 1)], ["A", "B", "C"])
