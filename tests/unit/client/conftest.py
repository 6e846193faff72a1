"""What the client's unit tests share: the user who signs."""

from __future__ import annotations

import pytest

from consortia.msp.signing import SigningIdentity
from tests.support.identities import SampleOrg


@pytest.fixture
def user(org1: SampleOrg) -> SigningIdentity:
    return org1.identity("client", "User1@org1")
