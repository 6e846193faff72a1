"""The endorsement policy options of approve, checkcommitreadiness and commit, under
Fabric's names too: --signature-policy and --channel-config-policy."""

from __future__ import annotations

import pytest
from fabric_protos.msp import msp_principal_pb2
from fabric_protos.peer import policy_pb2

from consortia.cli.lifecycle_cmd import _definition
from consortia.cli.main import build_parser
from consortia.errors import ConsortiaError

DEFINITION = ["--channel", "ch", "--name", "cc", "--version", "1.0", "--sequence", "1", "--org", "Org1"]


def policy_of(verb: str, *options: str) -> policy_pb2.ApplicationPolicy:
    args = build_parser().parse_args(["chaincode", verb, *DEFINITION, *options])
    return policy_pb2.ApplicationPolicy.FromString(_definition(args).validation_parameter)


@pytest.mark.parametrize("verb", ["approve", "checkcommitreadiness", "commit"])
def test_signature_policy_is_another_name_for_policy(verb: str) -> None:
    fabric_name = policy_of(verb, "--signature-policy", "OR('Org1MSP.peer')")
    assert fabric_name == policy_of(verb, "--policy", "OR('Org1MSP.peer')")
    assert fabric_name.signature_policy.rule.n_out_of.n == 1
    role = msp_principal_pb2.MSPRole.FromString(fabric_name.signature_policy.identities[0].principal)
    assert (role.msp_identifier, role.role) == ("Org1MSP", msp_principal_pb2.MSPRole.PEER)


@pytest.mark.parametrize("verb", ["approve", "checkcommitreadiness", "commit"])
def test_a_channel_config_policy_names_a_channel_policy(verb: str) -> None:
    policy = policy_of(verb, "--channel-config-policy", "/Channel/Application/Admins")
    assert policy.WhichOneof("Type") == "channel_config_policy_reference"
    assert policy.channel_config_policy_reference == "/Channel/Application/Admins"
    assert policy_of(verb).channel_config_policy_reference == "/Channel/Application/Endorsement"


def test_both_kinds_of_policy_at_once_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["chaincode", "approve", *DEFINITION, "--signature-policy", "OR('Org1MSP.peer')",
                                   "--channel-config-policy", "/Channel/Application/Admins"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_a_channel_config_policy_that_is_not_a_path_is_refused() -> None:
    args = build_parser().parse_args(["chaincode", "approve", *DEFINITION, "--channel-config-policy", "Admins"])
    with pytest.raises(ConsortiaError, match="'Admins' is not a channel policy path"):
        _definition(args)
