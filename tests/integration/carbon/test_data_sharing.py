"""DOMAIN.md §8 SC-09 to SC-12 on the default network: the `datashare` chaincode of
channel data-sharing shares, guards and governs government data between departments
and enterprises, with every peer of the consortium doing its part.

Each scenario is one test, on the catalog entry C-MD of enterprise E1 and its asset X1
(E1's 2021-12 monthly data), which the module's fixture publishes once. The tests keep
to ids of their own (requests R<n>, grants G<n>, assets X2, X3, Y1, Z1) so that they
run in any order, and alone. What they check is what a party of the network sees: the
results, refusals and endorsers of calls, the chaincode events, `access:logs`, and, on
the peers themselves, the committed records and where each private payload is kept.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import pytest

from consortia.carbon.session import Outcome, Refused, moment
from consortia.client.chaincode_events import ChaincodeEvent
from tests.support.carbon import CarbonMarket
from tests.unit.chaincode.datashare.flow import (
    EVIDENCE,
    GOV,
    SCHEMA,
    X1_META,
    X1_PAYLOAD,
)

pytestmark = pytest.mark.integration

CHANNEL, CHAINCODE = "data-sharing", "datashare"
# The peers of the data-sharing channel, by the start of their organization's domain.
PEERS = {"MEEMSP": "mee", "ProvGDMSP": "prov-gd", "ProvSDMSP": "prov-sd", "StatsMSP": "stats",
         "EnergyMSP": "energy", "EmitterMSP": "emitter", "VerifierMSP": "verifier"}
E1_COLLECTION = "_implicit_org_EmitterMSP"

POWER = ["power_supplied_mwh"]
SERVED = "5e" * 32


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


# --- calls ------------------------------------------------------------------------------


def refused(market: CarbonMarket, code: str, user: str, function: str, *args: object, at: str,
            naming: str = "", endorsers: list[str] | None = None, transient: dict[str, bytes] | None = None) -> str:
    return market.refused(code, user, CHANNEL, CHAINCODE, function, *args, at=at, naming=naming,
                          endorsers=endorsers, transient=transient)


def query(market: CarbonMarket, user: str, function: str, *args: object, at: str | None = None,
          on: str | None = None) -> Any:
    """An evaluation as `user`, on the peer of `on` if given."""
    return market.session.evaluate(user, CHANNEL, CHAINCODE, function, *args, at=at, on=[on] if on else None)


def query_refused(market: CarbonMarket, code: str, user: str, function: str, *args: object, at: str | None = None,
                  on: str | None = None, naming: str = "") -> str:
    with pytest.raises(Refused) as refusal_:
        query(market, user, function, *args, at=at, on=on)
    message = str(refusal_.value)
    assert refusal_.value.code == code, message
    assert naming in message, message
    return message


def read_private(market: CarbonMarket, user: str, grant_id: str, *, at: str, on: str = "EmitterMSP") -> Any:
    """`access:read_private` as `user`, evaluated on the peer of `on` (a member of the
    collection that keeps the payload: DOMAIN.md §5.2 "query on member peer")."""
    return query(market, user, "access:read_private", grant_id, at=at, on=on)


def private_refused(market: CarbonMarket, code: str, user: str, grant_id: str, *, at: str, on: str = "EmitterMSP",
                    naming: str = "") -> str:
    return query_refused(market, code, user, "access:read_private", grant_id, at=at, on=on, naming=naming)


# --- what the client and the peers see --------------------------------------------------


def events(market: CarbonMarket, through: Outcome, start_block: int = 0) -> list[ChaincodeEvent]:
    """The datashare events of valid transactions, in commit order, from `start_block`
    up to the transaction of `through`."""
    found = []
    network = market.session.gateway("Audit/Auditor").get_network(CHANNEL)
    with network.get_chaincode_events(CHAINCODE, start_block=start_block, timeout=30) as stream:
        for event in stream:
            found.append(event)
            if event.transaction_id == through.transaction_id:
                return found
    pytest.fail(f"no event of transaction {through.transaction_id} in block {through.block}")


def event(market: CarbonMarket, outcome: Outcome) -> tuple[str, Any]:
    """The name and payload of the event `outcome`'s transaction emitted."""
    last = events(market, outcome, start_block=outcome.block)[-1]
    return last.event_name, json.loads(last.payload)


def committed(market: CarbonMarket, msp_id: str, kind: str, *parts: str) -> Any:
    """The datashare record `kind~parts` as that organization's peer committed it (None if
    absent). Read from the peer of the gateway that reported the commit, to be current."""
    key = "\x00" + kind + "\x00" + "".join(part + "\x00" for part in parts)
    ledger = market.peer_dir(PEERS[msp_id]) / "channels" / CHANNEL / "ledger.db"
    with closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT value FROM state WHERE ns = ? AND key = ?", (CHAINCODE, key.encode())).fetchone()
    return None if row is None else json.loads(bytes(row[0]))


def collection_values(market: CarbonMarket, msp_id: str, collection: str) -> list[bytes]:
    """The private values that peer keeps for one datashare collection."""
    ledger = market.peer_dir(PEERS[msp_id]) / "channels" / CHANNEL / "ledger.db"
    with closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT value FROM state WHERE ns = ?", (f"{CHAINCODE}$$p{collection}",)).fetchall()
    return [bytes(value) for (value,) in rows]


def holders(market: CarbonMarket, payload: bytes) -> set[str]:
    """The organizations whose peer keeps `payload` among datashare's private values."""
    return {msp for msp, peer in PEERS.items() if payload in market.private_values(peer, CHAINCODE)}


def check_access_invariants(market: CarbonMarket, through: Outcome) -> None:
    """DOMAIN.md §5.4 I10 and I11 over what a client reads: the chaincode's events up to
    `through`, and the auditor's `access:logs` of every registered asset.

    I10: every log entry is the record of a committed `AssetAccessed` transaction (same
    tx id, grant, access id and served hash; as many entries as accesses, so none was
    deleted or rewritten), under a grant granted before it, not revoked before it, and
    unexpired at the entry's time. I11: no grant on a NOT_SHARED or CORE entry."""
    catalogs: dict[str, dict[str, Any]] = {}
    assets: dict[str, str] = {}
    grants: dict[str, tuple[int, dict[str, Any]]] = {}
    revoked: dict[str, int] = {}
    accessed: dict[str, tuple[int, dict[str, Any]]] = {}
    for position, found in enumerate(events(market, through)):
        payload = json.loads(found.payload)
        if found.event_name == "CatalogEntryPublished":
            catalogs[payload["catalog_id"]] = payload
        elif found.event_name == "AssetRegistered":
            assets[payload["asset_id"]] = payload["catalog_id"]
        elif found.event_name == "AccessGranted" or (found.event_name == "AccessRequested" and payload["granted"]):
            grants[payload["grant_id"]] = (position, payload)
        elif found.event_name == "AccessRevoked":
            revoked[payload["grant_id"]] = position
        elif found.event_name == "AssetAccessed":
            accessed[found.transaction_id] = (position, payload)
    for grant_id, (_, granted) in grants.items():  # I11
        entry = catalogs[assets[granted["asset_id"]]]
        assert entry["share_type"] != "NOT_SHARED" and entry["classification"] != "CORE", (grant_id, entry)
    for asset_id in assets:  # I10
        logs = query(market, "Audit/Auditor", "access:logs", asset_id)
        assert len(logs) == sum(access["asset_id"] == asset_id for _, access in accessed.values()), asset_id
        for log in logs:
            position, access = accessed[log["tx_id"]]
            assert (access["asset_id"], access["grant_id"], access["access_id"], access["served_hash"]) == (
                asset_id, log["grant_id"], log["access_id"], log["served_hash"]), log
            granted_at, granted = grants[log["grant_id"]]
            assert granted_at < position and granted["asset_id"] == asset_id, log
            assert "expires_at" in granted, f"{log['grant_id']} was granted on request: its event names no expiry"
            assert moment(log["at"]) < moment(granted["expires_at"]), (log, granted)
            assert revoked.get(log["grant_id"], position + 1) > position, log  # not revoked before it
            assert log["ts"] == log["at"], log


# --- the common fixture: STD-MONTHLY-POWER v1, catalog C-MD and asset X1 of E1 ------------


@dataclass(frozen=True)
class Shared:
    market: CarbonMarket
    standard: Outcome
    catalog: Outcome
    x1: Outcome


@pytest.fixture(scope="module")
def shared(market: CarbonMarket) -> Shared:
    """The standard (MEE's standard setter), catalog entry C-MD (E1's own data, GENERAL,
    CONDITIONAL) and asset X1 with its payload: E1's 2021-12 monthly data."""
    standard = market.datashare("MEE/StandardSetter", "standards:register", "STD-MONTHLY-POWER", "v1", SCHEMA,
                                at="2023-01-01T09:00")
    catalog = market.datashare("Emitter/E1", "catalog:publish", "C-MD", "E1 monthly power data",
                               "STD-MONTHLY-POWER", "v1", "GENERAL", "CONDITIONAL", "MONTHLY", "E1",
                               at="2023-01-01T10:00")
    x1 = market.datashare("Emitter/E1", "assets:register", "X1", "C-MD", sha(X1_PAYLOAD), "s3://e1/2021-12",
                          len(X1_PAYLOAD), X1_META, [], at="2023-01-02T09:00", transient={"payload": X1_PAYLOAD})
    return Shared(market, standard, catalog, x1)


def grant(market: CarbonMarket, requester: str, request_id: str, grant_id: str, asset_id: str = "X1",
          hour: int = 10) -> Outcome:
    """`requester` asks for power_supplied_mwh of the asset for 30 days on 2023-01-05;
    E1 grants it until 2023-02-04T00:00+08:00 the next day."""
    market.datashare(requester, "access:request", request_id, asset_id, "statistics", POWER, 30,
                     at=f"2023-01-05T{hour}:00")
    return market.datashare("Emitter/E1", "access:approve", request_id, grant_id, "2023-02-04T00:00+08:00",
                            at=f"2023-01-06T{hour}:00")


# --- SC-09 ------------------------------------------------------------------------------


def test_sc09_cross_department_access_with_expiry(shared: Shared) -> None:
    market = shared.market
    requested = market.datashare("Stats/Officer", "access:request", "R1", "X1", "statistics", POWER, 30,
                                 at="2023-01-05T10:00")
    assert (requested.result["status"], requested.result["requester_msp"], requested.result["fields"]) == (
        "PENDING", "StatsMSP", POWER)
    assert requested.endorsers == ["StatsMSP"]  # the requester's peer
    assert event(market, requested) == ("AccessRequested", {"request_id": "R1", "asset_id": "X1", "granted": False})
    refused(market, "ERR_UNAUTHORIZED", "Emitter/E2", "access:approve", "R1", "G1", "2023-02-04T00:00+08:00",
            at="2023-01-06T10:00", naming="not the owner of asset X1")
    refused(market, "ERR_UNAUTHORIZED", "Stats/Officer", "access:approve", "R1", "G1", "2023-02-04T00:00+08:00",
            at="2023-01-06T10:00", naming="not the owner")
    refused(market, "ERR_INVALID_ARGUMENT", "Emitter/E1", "access:approve", "R1", "G1", "2023-02-05T00:00+08:00",
            at="2023-01-06T10:00", naming="no later than 2023-02-04T10:00:00+08:00")

    approved = market.datashare("Emitter/E1", "access:approve", "R1", "G1", "2023-02-04T00:00+08:00",
                                at="2023-01-06T10:00")
    assert approved.endorsers == ["EmitterMSP"]  # GENERAL data: the owner alone grants
    assert event(market, approved) == ("AccessGranted", {"request_id": "R1", "grant_id": "G1", "asset_id": "X1",
                                                         "expires_at": "2023-02-04T00:00:00+08:00"})
    g1 = committed(market, "EmitterMSP", "GRANT", "G1")
    assert (g1["status"], g1["grantee_msp"], g1["fields"], g1["use_count"]) == ("ACTIVE", "StatsMSP", POWER, 0)
    assert committed(market, "EmitterMSP", "REQ", "R1")["status"] == "APPROVED"
    refused(market, "ERR_CONFLICT", "Emitter/E1", "access:approve", "R1", "G1b", "2023-02-04T00:00+08:00",
            at="2023-01-06T10:00", naming="must be PENDING, found APPROVED")

    # the grantee reads only after recording an access (DOMAIN.md §5.2 [D])
    private_refused(market, "ERR_UNAUTHORIZED", "Stats/Officer", "G1", at="2023-01-10T09:59",
                    naming="record an access under grant G1 before reading")

    accessed = market.datashare("Stats/Officer", "access:record_access", "G1", "A1", POWER, SERVED,
                                at="2023-01-10T10:00")
    assert accessed.endorsers == ["EmitterMSP"]  # the owner's peer serves and attests the access
    assert event(market, accessed) == ("AssetAccessed", {"asset_id": "X1", "grant_id": "G1", "access_id": "A1",
                                                         "served_hash": SERVED})
    log = committed(market, "StatsMSP", "LOG", "X1", "2023-01-10T10:00:00+08:00", accessed.transaction_id)
    assert (log["grant_id"], log["accessor_msp"], log["fields"], log["tx_id"]) == (
        "G1", "StatsMSP", POWER, accessed.transaction_id)
    assert committed(market, "StatsMSP", "GRANT", "G1")["use_count"] == 1

    read = read_private(market, "Stats/Officer", "G1", at="2023-01-10T10:05")
    assert read == {"asset_id": "X1", "content_hash": sha(X1_PAYLOAD), "fields": {"power_supplied_mwh": 174_000}}
    # the grantee's own peer keeps no copy: it is no member of E1's implicit collection
    with pytest.raises(Refused) as elsewhere:
        read_private(market, "Stats/Officer", "G1", at="2023-01-10T10:05", on="StatsMSP")
    assert f"StatsMSP is not a member of collection {E1_COLLECTION}" in str(elsewhere.value)

    refused(market, "ERR_GRANT_EXPIRED", "Stats/Officer", "access:record_access", "G1", "A2", POWER, SERVED,
            at="2023-02-05T10:00", naming="expired at 2023-02-04T00:00:00+08:00")
    refused(market, "ERR_GRANT_EXPIRED", "Stats/Officer", "access:record_access", "G1", "A2", POWER, SERVED,
            at="2023-02-04T00:00")  # expires_at itself is too late
    refused(market, "ERR_UNAUTHORIZED", "Stats/Officer", "access:record_access", "G1", "A2", ["emissions_t"],
            SERVED, at="2023-01-11T10:00", naming="not emissions_t")
    refused(market, "ERR_UNAUTHORIZED", "Energy/Officer", "access:record_access", "G1", "A2", POWER, SERVED,
            at="2023-01-11T10:00", naming="grant G1 is for StatsMSP")
    private_refused(market, "ERR_GRANT_EXPIRED", "Stats/Officer", "G1", at="2023-02-05T10:00")
    private_refused(market, "ERR_UNAUTHORIZED", "Energy/Officer", "G1", at="2023-01-10T10:05", naming="is for StatsMSP")
    assert committed(market, "StatsMSP", "GRANT", "G1")["use_count"] == 1

    logs = query(market, "Audit/Auditor", "access:logs", "X1")
    assert len(logs) == 1
    assert (logs[0]["grant_id"], logs[0]["accessor_msp"], logs[0]["tx_id"], logs[0]["at"]) == (
        "G1", "StatsMSP", accessed.transaction_id, "2023-01-10T10:00:00+08:00")
    assert query(market, "MEE/Regulator", "access:logs", "X1") == logs == query(market, "Emitter/E1", "access:logs",
                                                                                "X1")
    query_refused(market, "ERR_UNAUTHORIZED", "Stats/Officer", "access:logs", "X1", naming="access log of X1")
    query_refused(market, "ERR_UNAUTHORIZED", "Audit/Public", "access:logs", "X1")
    check_access_invariants(market, accessed)


# --- private data on the peers ----------------------------------------------------------


def test_private_payloads_reach_only_their_collections_members(shared: Shared) -> None:
    """X1 (GENERAL, of enterprise E1) stays in E1's implicit collection, on the emitters'
    peer alone; Y1 (IMPORTANT, of Stats) goes to govSensitive, on the five governing
    departments' peers; no block carries either. An IMPORTANT grant needs the majority,
    and its grantee, a member, reads on its own peer."""
    market = shared.market
    assert event(market, shared.x1) == ("AssetRegistered", {"asset_id": "X1", "catalog_id": "C-MD",
                                                            "content_hash": sha(X1_PAYLOAD), "pdc": E1_COLLECTION})
    assert collection_values(market, "EmitterMSP", E1_COLLECTION).count(X1_PAYLOAD) == 1
    assert holders(market, X1_PAYLOAD) == {"EmitterMSP"}

    y1_payload = json.dumps({"period": "2021-12", "emissions_t": 98_000_000, "power_supplied_mwh": 110_000_000,
                             "note": "national aggregate"}).encode()
    market.datashare("Stats/Officer", "catalog:publish", "C-STATS-IMP", "national power statistics",
                     "STD-MONTHLY-POWER", "v1", "IMPORTANT", "CONDITIONAL", "MONTHLY", at="2023-01-01T11:00")
    y1 = market.datashare("Stats/Officer", "assets:register", "Y1", "C-STATS-IMP", sha(y1_payload), "s3://stats/y1",
                          len(y1_payload), {}, [], at="2023-01-02T11:00", transient={"payload": y1_payload})
    assert event(market, y1)[1]["pdc"] == "govSensitive"
    # govSensitive's endorsement policy is a majority of the governing departments
    assert "StatsMSP" in y1.endorsers and len(set(y1.endorsers) & set(GOV)) >= 3, y1.endorsers
    deadline = time.monotonic() + 15
    while holders(market, y1_payload) != set(GOV) and time.monotonic() < deadline:
        time.sleep(0.2)  # members that did not endorse receive it by dissemination or pull
    assert holders(market, y1_payload) == set(GOV)
    for msp in GOV:
        assert y1_payload in collection_values(market, msp, "govSensitive"), msp
    blocks = market.block_files(CHANNEL)
    assert blocks
    for path in blocks:
        content = path.read_bytes()
        assert X1_PAYLOAD not in content and y1_payload not in content and b"national aggregate" not in content, path
        assert sha(y1_payload).encode() in content, path  # the public record keeps the hash

    # IMPORTANT data: the owner AND a majority grant (§6.2); Energy, a member, reads on its peer
    market.datashare("Energy/Officer", "access:request", "R-Y1", "Y1", "energy balance", POWER, 30,
                     at="2023-01-05T10:00")
    approved = market.datashare("Stats/Officer", "access:approve", "R-Y1", "G-Y1", "2023-02-04T00:00+08:00",
                                at="2023-01-06T10:00")
    assert "StatsMSP" in approved.endorsers and len(set(approved.endorsers) & set(GOV)) >= 3, approved.endorsers
    private_refused(market, "ERR_UNAUTHORIZED", "Energy/Officer", "G-Y1", at="2023-01-09T10:00", on="EnergyMSP",
                    naming="record an access under grant G-Y1")
    accessed = market.datashare("Energy/Officer", "access:record_access", "G-Y1", "A-Y1", POWER, SERVED,
                                at="2023-01-09T10:00")
    assert accessed.endorsers == ["StatsMSP"]
    read = read_private(market, "Energy/Officer", "G-Y1", at="2023-01-09T10:01", on="EnergyMSP")
    assert read["fields"] == {"power_supplied_mwh": 110_000_000}
    with pytest.raises(Refused) as outsider:
        read_private(market, "Energy/Officer", "G-Y1", at="2023-01-09T10:01", on="EmitterMSP")
    assert "EmitterMSP is not a member of collection govSensitive" in str(outsider.value)
    check_access_invariants(market, accessed)


# --- SC-10 ------------------------------------------------------------------------------


def test_sc10_revocation_and_not_shareable_data(shared: Shared) -> None:
    market = shared.market
    grant(market, "Energy/Officer", "R2", "G2", hour=11)
    assert committed(market, "EmitterMSP", "GRANT", "G2")["status"] == "ACTIVE"
    refused(market, "ERR_UNAUTHORIZED", "Stats/Officer", "access:revoke", "G2", "not ours", at="2023-01-07T09:00",
            naming="only the owner of X1 or an MEE regulator")
    refused(market, "ERR_UNAUTHORIZED", "Emitter/E2", "access:revoke", "G2", "not ours", at="2023-01-07T09:00")

    revoked = market.datashare("Emitter/E1", "access:revoke", "G2", "purpose fulfilled", at="2023-01-07T10:00")
    assert revoked.endorsers == ["EmitterMSP"]
    assert event(market, revoked) == ("AccessRevoked", {"grant_id": "G2", "asset_id": "X1"})
    g2 = committed(market, "EmitterMSP", "GRANT", "G2")
    assert (g2["status"], g2["revoked_by"], g2["use_count"]) == ("REVOKED", "EmitterMSP", 0)
    refused(market, "ERR_GRANT_REVOKED", "Energy/Officer", "access:record_access", "G2", "A-G2", POWER, SERVED,
            at="2023-01-08T10:00", naming="grant G2 was revoked")
    refused(market, "ERR_CONFLICT", "Emitter/E1", "access:revoke", "G2", "again", at="2023-01-08T10:00",
            naming="must be ACTIVE, found REVOKED")
    assert committed(market, "EmitterMSP", "GRANT", "G2")["use_count"] == 0

    # the regulator may revoke too: GRANT~ carries OR(owner peer, MEE peer)
    grant(market, "Energy/Officer", "R3", "G3", hour=12)
    by_mee = market.datashare("MEE/Regulator", "access:revoke", "G3", "regulatory order", at="2023-01-07T11:00")
    assert set(by_mee.endorsers) <= {"EmitterMSP", "MEEMSP"} and by_mee.endorsers
    assert event(market, by_mee) == ("AccessRevoked", {"grant_id": "G3", "asset_id": "X1"})
    assert committed(market, "MEEMSP", "GRANT", "G3")["revoked_by"] == "MEEMSP"

    # CORE data is never shared; IMPORTANT data never unconditionally
    refused(market, "ERR_INVALID_ARGUMENT", "Stats/Officer", "catalog:publish", "C-CORE-X", "core data",
            "STD-MONTHLY-POWER", "v1", "CORE", "CONDITIONAL", "MONTHLY", at="2023-01-03T10:00",
            naming="share_type of CORE data must be NOT_SHARED, found CONDITIONAL")
    refused(market, "ERR_INVALID_ARGUMENT", "Stats/Officer", "catalog:publish", "C-IMP-X", "important data",
            "STD-MONTHLY-POWER", "v1", "IMPORTANT", "UNCONDITIONAL", "MONTHLY", at="2023-01-03T10:00",
            naming="IMPORTANT data may not be UNCONDITIONAL")
    market.datashare("Stats/Officer", "catalog:publish", "C-CORE", "core data", "STD-MONTHLY-POWER", "v1", "CORE",
                     "NOT_SHARED", "MONTHLY", at="2023-01-03T10:00")
    z1 = market.datashare("Stats/Officer", "assets:register", "Z1", "C-CORE", "ab" * 32, "s3://stats/z1", 1, {}, [],
                          at="2023-01-03T11:00")
    refused(market, "ERR_NOT_SHAREABLE", "Emitter/E1", "access:request", "R-Z1", "Z1", "curiosity", ["period"], 5,
            at="2023-01-04T10:00", naming="C-CORE, which is NOT_SHARED")
    refused(market, "ERR_NOT_SHAREABLE", "MEE/Regulator", "access:request", "R-Z1", "Z1", "oversight", ["period"], 5,
            at="2023-01-04T10:00")
    assert committed(market, "StatsMSP", "REQ", "R-Z1") is None
    check_access_invariants(market, z1)


# --- SC-11 ------------------------------------------------------------------------------


def test_sc11_standards_and_data_quality(shared: Shared) -> None:
    market = shared.market
    # standards: a majority of the governing departments endorses; only standard setters register
    assert len(set(shared.standard.endorsers) & set(GOV)) >= 3, shared.standard.endorsers
    schema_hash = sha(json.dumps(SCHEMA, sort_keys=True, separators=(",", ":")).encode())
    assert event(market, shared.standard) == ("StandardRegistered", {"standard_id": "STD-MONTHLY-POWER",
                                                                     "version": "v1", "schema_hash": schema_hash})
    standard = committed(market, "MEEMSP", "STD", "STD-MONTHLY-POWER", "v1")
    assert (standard["status"], standard["issuer"], standard["schema"]) == ("ACTIVE", "MEEMSP", SCHEMA)
    refused(market, "ERR_UNAUTHORIZED", "ProvGD/Officer", "standards:register", "STD-OTHER", "v1", SCHEMA,
            at="2023-01-01T09:30", naming="needs MEEMSP standard_setter")
    refused(market, "ERR_CONFLICT", "Stats/StandardSetter", "standards:register", "STD-MONTHLY-POWER", "v1", SCHEMA,
            at="2023-01-01T09:30")
    # the catalog entry: its owner and a majority
    assert "EmitterMSP" in shared.catalog.endorsers and len(set(shared.catalog.endorsers) & set(GOV)) >= 3

    x2_meta = {"period": "2021-12", "power_supplied_mwh": {"value": 174_000_000, "unit": "kWh"}}
    market.datashare("Emitter/E1", "assets:register", "X2", "C-MD", "cd" * 32, "s3://e1/2021-12-b", 1, x2_meta, [],
                     at="2023-01-02T10:00")
    refused(market, "ERR_UNAUTHORIZED", "Emitter/E1", "assets:validate", "X2", at="2023-01-03T10:00")
    refused(market, "ERR_NOT_FOUND", "Stats/Officer", "assets:validate", "X-NONE", at="2023-01-03T10:00")
    validated = market.datashare("Stats/Officer", "assets:validate", "X2", at="2023-01-03T10:00")
    assert validated.endorsers == ["StatsMSP"]  # any one governing department's peer
    assert (validated.result["passed"], validated.result["errors"]) == (
        False, ["emissions_t: missing required field", "power_supplied_mwh: unit must be MWh, found kWh"])
    assert event(market, validated) == ("AssetValidated", {"asset_id": "X2", "passed": False, "error_count": 2})
    assert committed(market, "StatsMSP", "QA", "X2") == validated.result
    good = market.datashare("ProvGD/Officer", "assets:validate", "X1", at="2023-01-03T10:00")
    assert (good.result["passed"], good.result["errors"], good.result["checked_by"]) == (True, [], "ProvGDMSP")

    declared = b"E1 2021-12 monthly data, as declared"
    refused(market, "ERR_HASH_MISMATCH", "Emitter/E1", "assets:register", "X3", "C-MD", sha(declared), "s3://e1/x3",
            len(declared), X1_META, [], at="2023-01-02T11:00", transient={"payload": b"something else"},
            naming=f"is not the sha256 of the transient payload ({sha(b'something else')})")
    query_refused(market, "ERR_NOT_FOUND", "Audit/Auditor", "assets:verify_content", "X3", sha(declared))
    assert not any(b"something else" in values for values in market.private_values("emitter", CHAINCODE))

    assert query(market, "Stats/Officer", "assets:verify_content", "X1", "00" * 32) == {"match": False}
    assert query(market, "Audit/Auditor", "assets:verify_content", "X1", sha(X1_PAYLOAD)) == {"match": True}


# --- SC-12 ------------------------------------------------------------------------------


def test_sc12_ownership_confirmation_needs_a_majority(shared: Shared) -> None:
    market = shared.market
    refused(market, "ERR_UNAUTHORIZED", "Emitter/E2", "ownership:claim", "X1", ["HOLD", "USE"], EVIDENCE,
            at="2023-01-03T09:00", naming="not the owner of asset X1")
    claimed = market.datashare("Emitter/E1", "ownership:claim", "X1", ["HOLD", "USE"], EVIDENCE,
                               at="2023-01-03T09:00")
    assert event(market, claimed) == ("OwnershipClaimed", {"asset_id": "X1", "rights": ["HOLD", "USE"],
                                                           "evidence_hash": EVIDENCE})
    assert committed(market, "EmitterMSP", "OWN", "X1")["status"] == "CLAIMED"
    refused(market, "ERR_UNAUTHORIZED", "Emitter/E1", "ownership:confirm", "X1", at="2023-01-04T09:00")

    # 2 of 5 governing departments: the transaction commits as invalid, OWN~X1 unchanged
    refused(market, "ENDORSEMENT_POLICY_FAILURE", "ProvGD/Officer", "ownership:confirm", "X1", at="2023-01-04T09:00",
            endorsers=["ProvGDMSP", "MEEMSP"])
    assert committed(market, "ProvGDMSP", "OWN", "X1")["status"] == "CLAIMED"
    # 3 of 5 without the owner's peer: ORG~EmitterMSP is not satisfied either
    refused(market, "ENDORSEMENT_POLICY_FAILURE", "ProvGD/Officer", "ownership:confirm", "X1", at="2023-01-04T09:00",
            endorsers=["ProvGDMSP", "MEEMSP", "StatsMSP"])
    assert committed(market, "ProvGDMSP", "OWN", "X1")["status"] == "CLAIMED"
    confirmed = market.datashare("ProvGD/Officer", "ownership:confirm", "X1", at="2023-01-04T09:00",
                                 endorsers=["ProvGDMSP", "MEEMSP", "StatsMSP", "EmitterMSP"])
    assert sorted(confirmed.endorsers) == ["EmitterMSP", "MEEMSP", "ProvGDMSP", "StatsMSP"]
    assert event(market, confirmed) == ("OwnershipConfirmed", {"asset_id": "X1"})
    own = committed(market, "ProvGDMSP", "OWN", "X1")
    assert (own["status"], own["rights"], own["holder_entity"]) == ("CONFIRMED", ["HOLD", "USE"], "E1")
    refused(market, "ERR_CONFLICT", "MEE/Regulator", "ownership:confirm", "X1", at="2023-01-04T10:00",
            naming="found CONFIRMED")

    market.datashare("Stats/Officer", "access:request", "R4", "X1", "statistics", POWER, 30, at="2023-01-05T13:00")
    refused(market, "ERR_UNAUTHORIZED", "Verifier/V1", "ownership:dispute", "X1", "d1" * 32, at="2023-01-05T14:00")
    disputed = market.datashare("Emitter/E2", "ownership:dispute", "X1", "d1" * 32, at="2023-01-05T14:00")
    assert len(set(disputed.endorsers) & set(GOV)) >= 3, disputed.endorsers  # a dispute needs the majority
    assert event(market, disputed) == ("OwnershipDisputed", {"asset_id": "X1", "evidence_hash": "d1" * 32})
    assert committed(market, "EmitterMSP", "OWN", "X1")["status"] == "DISPUTED"
    refused(market, "ERR_CONFLICT", "Emitter/E1", "access:approve", "R4", "G4", "2023-02-04T00:00+08:00",
            at="2023-01-06T13:00", naming="ownership of X1 is DISPUTED")
    assert committed(market, "EmitterMSP", "REQ", "R4")["status"] == "PENDING"
    assert committed(market, "EmitterMSP", "GRANT", "G4") is None

    # confirmed again (the gateway finds the owner and a majority), grants resume
    again = market.datashare("MEE/Regulator", "ownership:confirm", "X1", at="2023-01-06T12:00")
    assert "EmitterMSP" in again.endorsers and len(set(again.endorsers) & set(GOV)) >= 3, again.endorsers
    approved = market.datashare("Emitter/E1", "access:approve", "R4", "G4", "2023-02-04T00:00+08:00",
                                at="2023-01-06T13:00")
    assert event(market, approved)[0] == "AccessGranted"
    check_access_invariants(market, approved)



def test_provenance_of_a_derived_asset(shared: Shared) -> None:
    """An annual summary X7 derived from X1: its provenance names X1 as its lineage and
    the transaction that wrote it, with that transaction's time, from the peer's history."""
    market = shared.market
    derived = market.datashare("Emitter/E1", "assets:register", "X7", "C-MD", "7a" * 32, "s3://e1/2021",
                               10, {}, ["X1"], at="2023-01-20T09:00")
    found = market.query("Audit/Auditor", "data-sharing", "datashare", "assets:provenance", "X7")
    assert found["asset"]["parents"] == ["X1"]
    assert [(a["asset_id"], a["content_hash"]) for a in found["lineage"]] == [("X1", sha(X1_PAYLOAD))]
    assert found["history"] == [{"tx_id": derived.transaction_id, "timestamp": "2023-01-20T01:00:00+00:00",
                                 "is_delete": False, "status": "ACTIVE", "version": 1, "content_hash": "7a" * 32}]
    x1 = market.query("Stats/Officer", "data-sharing", "datashare", "assets:provenance", "X1")
    assert x1["lineage"] == [] and [h["tx_id"] for h in x1["history"]] == [shared.x1.transaction_id]
