"""Collection configurations of a chaincode definition: Fabric's collections-config JSON,
and the rules `_lifecycle` applies when an org approves and when a channel commits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fabric_protos.peer import collection_pb2

from consortia.lifecycle.collections import (
    CollectionError,
    check_collections,
    describe,
    implicit_collection,
    member_msp_ids,
    parse_collections_json,
    static_configs,
)
from consortia.policy import parse_signature_policy, to_envelope

pytestmark = pytest.mark.unit

CHANNEL = ("Org1MSP", "Org2MSP", "Org3MSP")


def entry(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"name": "prices", "policy": "OR('Org1MSP.member', 'Org2MSP.member')",
                            "requiredPeerCount": 1, "maxPeerCount": 2, "blockToLive": 100,
                            "memberOnlyRead": True, "memberOnlyWrite": True}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def package(*entries: dict[str, Any]) -> collection_pb2.CollectionConfigPackage:
    return parse_collections_json(json.dumps(list(entries)), "c.json")


def test_fabric_s_json_becomes_static_collection_configs() -> None:
    parsed = package(entry(endorsementPolicy={"signaturePolicy": "OR('Org1MSP.peer')"}),
                     entry(name="audit", policy="OR('Org3MSP.member')", requiredPeerCount=None, maxPeerCount=None,
                           blockToLive=None, memberOnlyRead=None, memberOnlyWrite=None,
                           endorsementPolicy={"channelConfigPolicy": "/Channel/Application/Writers"}))
    prices, audit = static_configs(parsed)
    assert (prices.name, prices.required_peer_count, prices.maximum_peer_count, prices.block_to_live) == \
        ("prices", 1, 2, 100)
    assert prices.member_only_read and prices.member_only_write
    assert prices.member_orgs_policy.signature_policy == to_envelope(
        parse_signature_policy("OR('Org1MSP.member', 'Org2MSP.member')"))
    assert member_msp_ids(prices) == {"Org1MSP", "Org2MSP"}
    # Fabric's defaults for what is not given: zero peers, kept forever, anyone may read and write.
    assert (audit.required_peer_count, audit.maximum_peer_count, audit.block_to_live) == (0, 0, 0)
    assert not audit.member_only_read and not audit.member_only_write
    assert audit.endorsement_policy.channel_config_policy_reference == "/Channel/Application/Writers"
    assert describe(parsed)[0] == {**entry(), "policy": "OR('Org1MSP.member', 'Org2MSP.member')",
                                   "endorsementPolicy": {"signaturePolicy": "OR('Org1MSP.peer')"}}
    check_collections(parsed, CHANNEL)


@pytest.mark.parametrize(("text", "message"), [
    ("{", "c.json: not JSON: Expecting property name enclosed in double quotes at line 1, column 2"),
    ('{"name": "x"}', "c.json: expected a JSON list of collections, found dict"),
    ('["x"]', "c.json[0]: expected an object, found str"),
    (json.dumps([entry(maxPeers=3)]), "c.json[0]: unknown field 'maxPeers' (known: name, policy, requiredPeerCount, "
                                      "maxPeerCount, blockToLive, memberOnlyRead, memberOnlyWrite, endorsementPolicy)"),
    (json.dumps([entry(name="")]), "c.json[0].name: expected the collection's name"),
    (json.dumps([entry(policy=None)]), "c.json[0] (prices).policy: expected the member policy, "
                                       "e.g. \"OR('Org1MSP.member')\""),
    (json.dumps([entry(policy="OR('Org1MSP.member'")]),
     "c.json[0] (prices).policy: expected ')' to close OR( opened at column 1, found the end at column 20"),
    (json.dumps([entry(maxPeerCount="2")]),
     'c.json[0] (prices).maxPeerCount: expected a whole number, found "2"'),
    (json.dumps([entry(blockToLive=-1)]),
     "c.json[0] (prices).blockToLive: -1 is out of range (0 to 18446744073709551615)"),
    (json.dumps([entry(memberOnlyRead="yes")]),
     'c.json[0] (prices).memberOnlyRead: expected true or false, found "yes"'),
    (json.dumps([entry(endorsementPolicy={"signaturePolicy": "OR('A.peer')", "channelConfigPolicy": "/x"})]),
     "c.json[0] (prices).endorsementPolicy: expected exactly one of signaturePolicy and channelConfigPolicy"),
])
def test_bad_json_names_the_entry_and_field(text: str, message: str) -> None:
    with pytest.raises(CollectionError) as caught:
        parse_collections_json(text, "c.json")
    assert str(caught.value) == message


@pytest.mark.parametrize(("entries", "message"), [
    ([entry(name="_private")], "invalid collection name '_private': names consist of letters, digits, '_' and '-', "
                               "and do not begin with '_'"),
    ([entry(name="a b")], "invalid collection name 'a b'"),
    ([entry(), entry()], "collection prices: defined twice"),
    ([entry(requiredPeerCount=-1, maxPeerCount=0)], "collection prices: requiredPeerCount (-1) cannot be less than zero"),
    ([entry(requiredPeerCount=3, maxPeerCount=2)], "collection prices: maxPeerCount (2) cannot be less than "
                                                   "requiredPeerCount (3)"),
    ([entry(policy="AND('Org1MSP.member', 'Org2MSP.member')")], "collection prices: the member policy "
                                                                "AND('Org1MSP.member', 'Org2MSP.member') must be an OR"),
    ([entry(policy="OR('Org1MSP.member', 'Org9MSP.member')")], "collection prices: member Org9MSP is not an "
                                                               "organization of the channel"),
    ([entry(endorsementPolicy={"channelConfigPolicy": "Writers"})], "collection prices: the endorsement policy "
                                                                    "reference 'Writers' is not a channel policy path"),
])
def test_what_lifecycle_refuses(entries: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(CollectionError, match=r"^" + message.replace("(", r"\(").replace(")", r"\)")):
        check_collections(package(*entries), CHANNEL)


def test_an_upgrade_keeps_every_committed_collection_and_its_block_to_live() -> None:
    committed = package(entry(), entry(name="audit"))
    check_collections(package(entry(), entry(name="audit", maxPeerCount=3), entry(name="new")), CHANNEL, committed)
    with pytest.raises(CollectionError, match="collection audit is defined in the committed definition and missing"):
        check_collections(package(entry()), CHANNEL, committed)
    with pytest.raises(CollectionError, match=r"collection prices: blockToLive cannot change \(committed: 100, "
                                              r"proposed: 5\)"):
        check_collections(package(entry(blockToLive=5), entry(name="audit")), CHANNEL, committed)


def test_a_config_that_is_not_static_or_lacks_a_member_policy_is_refused() -> None:
    empty = collection_pb2.CollectionConfigPackage()
    empty.config.add()
    with pytest.raises(CollectionError, match="collection config 0 is not a static collection config"):
        check_collections(empty, CHANNEL)
    bare = collection_pb2.CollectionConfigPackage()
    bare.config.add(static_collection_config=collection_pb2.StaticCollectionConfig(name="bare"))
    with pytest.raises(CollectionError, match="collection bare: no member policy"):
        check_collections(bare, CHANNEL)


def test_implicit_collections_are_named_for_their_org() -> None:
    assert implicit_collection("Org1MSP") == "_implicit_org_Org1MSP"
