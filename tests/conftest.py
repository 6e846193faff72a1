"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.identities import SampleOrg, make_org

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def org1() -> SampleOrg:
    return make_org("Org1MSP")


@pytest.fixture(scope="session")
def org2() -> SampleOrg:
    return make_org("Org2MSP")


@pytest.fixture(scope="session")
def org3() -> SampleOrg:
    return make_org("Org3MSP")
