"""The committed modules under consortia/protos must be exactly what proto/ generates."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.unit


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_protos", REPO / "scripts" / "gen_protos.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generated_modules_are_fresh(tmp_path: Path) -> None:
    written = _generator().generate(tmp_path)
    committed = REPO / "consortia" / "protos"
    fresh = {p.relative_to(tmp_path) for p in written}
    existing = {p.relative_to(committed) for p in (committed / "v1").iterdir() if p.is_file()}
    assert existing == fresh, "consortia/protos/v1 has files proto/ does not generate; run python scripts/gen_protos.py"
    for rel in sorted(fresh):
        assert (committed / rel).read_bytes() == (tmp_path / rel).read_bytes(), (
            f"consortia/protos/{rel} is stale: run python scripts/gen_protos.py"
        )


def test_generated_module_imports_and_round_trips() -> None:
    from consortia.protos.v1 import channel_config_pb2 as cc

    config = cc.ChannelConfig(channel_id="c", sequence=3, orderer=cc.OrdererConfig(consensus_type="solo"))
    assert cc.ChannelConfig.FromString(config.SerializeToString()) == config
