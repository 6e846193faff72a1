"""What `network up` tells a user whose network file no longer matches a channel it
created: each kind of change, named, and nothing when nothing changed."""

from __future__ import annotations

import pytest

from consortia.channelconfig.drift import config_drift
from consortia.protos.v1 import channel_config_pb2 as cc

pytestmark = pytest.mark.unit


def org(msp_id: str, *, host: str = "127.0.0.1", port: int = 7051) -> cc.Organization:
    return cc.Organization(name=msp_id.removesuffix("MSP"), msp=cc.MSPDefinition(msp_id=msp_id, root_certs=[b"ca"]),
                           policies={"Readers": cc.Policy(type=3, value=b"any")},
                           endpoints=[cc.Endpoint(name="peer0", host=host, port=port)])


def config() -> cc.ChannelConfig:
    return cc.ChannelConfig(
        channel_id="ch1",
        policies={"Readers": cc.Policy(type=3, value=b"r"), "Writers": cc.Policy(type=3, value=b"w")},
        application=cc.ApplicationConfig(organizations=[org("Org1MSP"), org("Org2MSP")],
                                         policies={"Endorsement": cc.Policy(type=3, value=b"e")}),
        orderer=cc.OrdererConfig(organizations=[org("OrdererMSP", port=7050)], consensus_type="solo",
                                 consenters=[cc.Consenter(name="orderer0", host="127.0.0.1", port=7050)],
                                 batch_size=cc.BatchSize(max_message_count=10), batch_timeout_ms=2000),
    )


def test_an_unchanged_configuration_has_no_drift() -> None:
    assert config_drift(config(), config()) == []


def test_each_change_is_named() -> None:
    wanted = config()
    wanted.policies["Writers"].value = b"other"
    del wanted.application.organizations[1]
    wanted.application.organizations.append(org("Org3MSP"))
    wanted.application.organizations[0].endpoints[0].port = 8051
    wanted.application.policies["Endorsement"].value = b"AND"
    wanted.orderer.batch_size.max_message_count = 500
    wanted.orderer.batch_timeout_ms = 250
    wanted.orderer.consenters[0].port = 8050
    assert config_drift(config(), wanted) == [
        "the channel's Writers policy",
        "member organizations added (Org3MSP)",
        "member organizations removed (Org2MSP)",
        "Org1MSP's endpoints",
        "the application Endorsement policy",
        "the ordering nodes",
        "batch size",
        "batch timeout (2000 ms -> 250 ms)",
    ]


def test_an_org_s_certificates_and_policies_and_the_consensus_type() -> None:
    wanted = config()
    wanted.application.organizations[1].msp.root_certs.append(b"another ca")
    wanted.orderer.organizations[0].policies["Admins"].value = b"admins"
    wanted.orderer.consensus_type = "raft"
    wanted.orderer.policies["BlockValidation"].value = b"bv"
    assert config_drift(config(), wanted) == [
        "Org2MSP's certificates",
        "OrdererMSP's policies",
        "the orderer BlockValidation policy",
        "consensus type (solo -> raft)",
    ]
