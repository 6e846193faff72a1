"""Fixtures of the chaincode unit tests: an empty fake ledger per test."""

from __future__ import annotations

import pytest

from tests.unit.chaincode.fakes import FakeLedger


@pytest.fixture
def ledger() -> FakeLedger:
    return FakeLedger()
