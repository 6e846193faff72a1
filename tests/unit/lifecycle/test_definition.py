"""Chaincode definitions: defaults as Fabric fills them, policies, agreement."""

from __future__ import annotations

import pytest
from fabric_protos.peer import policy_pb2
from fabric_protos.peer.lifecycle import lifecycle_pb2

from consortia.lifecycle.definition import (
    Definition,
    DefinitionError,
    application_policy,
    differences,
    endorsement_rule,
    normalized,
)
from consortia.policy import parse_signature_policy
from consortia.policy.paths import APPLICATION_ENDORSEMENT

pytestmark = pytest.mark.unit


def test_defaults_are_filled_in() -> None:
    definition = normalized("cc", Definition(sequence=1, version="1.0"))
    assert definition.name == "cc"
    assert (definition.endorsement_plugin, definition.validation_plugin) == ("escc", "vscc")
    policy = policy_pb2.ApplicationPolicy.FromString(definition.validation_parameter)
    assert policy.channel_config_policy_reference == APPLICATION_ENDORSEMENT


def test_policies_round_trip() -> None:
    text = "AND('Org1MSP.peer', 'Org2MSP.peer')"
    assert endorsement_rule(application_policy(text)) == parse_signature_policy(text)
    assert endorsement_rule(application_policy(None)) == APPLICATION_ENDORSEMENT
    assert endorsement_rule(application_policy("/Channel/Application/Custom")) == "/Channel/Application/Custom"


def test_bad_input_is_refused() -> None:
    with pytest.raises(DefinitionError, match="column"):
        application_policy("AND('Org1MSP.peer'")
    with pytest.raises(DefinitionError, match="sequence must be at least 1"):
        normalized("cc", Definition(sequence=0, version="1"))
    with pytest.raises(DefinitionError, match="needs a version"):
        normalized("cc", Definition(sequence=1))
    with pytest.raises(DefinitionError, match="not an ApplicationPolicy|names no policy"):
        normalized("cc", Definition(sequence=1, version="1", validation_parameter=b"\xff\xff"))


def test_an_approval_agrees_whatever_package_it_names() -> None:
    proposed = normalized("cc", Definition(sequence=1, version="1.0"))
    approval = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs(name="cc", sequence=1, version="1.0")
    approval.source.local_package.package_id = "cc_1:abc"
    assert differences(normalized("cc", approval), proposed) == []
    other = lifecycle_pb2.ApproveChaincodeDefinitionForMyOrgArgs(
        name="cc", sequence=1, version="2.0", validation_parameter=application_policy("OR('A.peer')"))
    assert differences(normalized("cc", other), proposed) == ["version", "validation_parameter"]
