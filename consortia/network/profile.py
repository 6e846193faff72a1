"""The connection profile: what a client needs to use the network, in one JSON file.

It has the shape of Fabric's common connection profile (`connection-org1.json` of
Fabric's test network) — `organizations`, `peers`, `orderers`, `channels`, endpoints as
`grpcs://host:port` URLs and `tlsCACerts` paths — and adds, under each organization,
`users`: for every identity of the organization, its MSP folder, signing certificate
and key, and TLS client certificate and key. Paths are absolute.

    "organizations": {"Org1": {"mspid": "Org1MSP", "peers": ["peer0.org1.example.com"],
                               "tlsCACerts": {"path": ".../tlsca.org1.example.com-cert.pem"},
                               "users": {"User1": {"mspDir": ..., "cert": ..., "key": ...,
                                                   "tlsCert": ..., "tlsKey": ...}}}},
    "peers": {"peer0.org1.example.com": {"url": "grpcs://127.0.0.1:7360", "mspid": "Org1MSP", ...}}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from consortia.config.network import Network
from consortia.cryptogen import ADMIN, KEY_FILE, CryptoLayout, OrgLayout
from consortia.network.layout import NodeSpec, node_specs

VERSION = "1.0.0"


def _user(org: OrgLayout, name: str) -> dict[str, str]:
    folder = org.user_dir(name)
    return {
        "mspDir": str(folder / "msp"),
        "cert": str(folder / "msp" / "signcerts" / f"{name}@{org.domain}-cert.pem"),
        "key": str(folder / "msp" / "keystore" / KEY_FILE),
        "tlsCert": str(folder / "tls" / "client.crt"),
        "tlsKey": str(folder / "tls" / "client.key"),
    }


def _endpoint(spec: NodeSpec, org: OrgLayout, tls: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "url": f"{'grpcs' if tls else 'grpc'}://{spec.address}",
        "mspid": spec.msp_id,
        "adminUrl": f"{'grpcs' if tls else 'grpc'}://{spec.admin_address}",
    }
    if tls:
        entry["tlsCACerts"] = {"path": str(org.tlsca_cert)}
    return entry


def connection_profile(network: Network, crypto: Path) -> dict[str, Any]:
    """The profile of `network`, whose crypto material is (or will be) under `crypto`."""
    layout = CryptoLayout(crypto.resolve(), network)
    specs = node_specs(network)
    orgs: dict[str, Any] = {}
    for org in network.organizations:
        org_layout = layout.org(org.msp_id)
        orgs[org.name] = {
            "mspid": org.msp_id,
            "domain": org.domain,
            "peers": [s.name for s in specs if s.msp_id == org.msp_id],
            "tlsCACerts": {"path": str(org_layout.tlsca_cert)},
            "cryptoPath": str(org_layout.root),
            "users": {name: _user(org_layout, name) for name in [ADMIN, *(u.name for u in org.users)]},
        }
    orderer_layout = layout.org(network.orderer.msp_id)
    orgs[network.orderer.name] = {
        "mspid": network.orderer.msp_id,
        "domain": network.orderer.domain,
        "orderers": [s.name for s in specs if s.kind == "orderer"],
        "tlsCACerts": {"path": str(orderer_layout.tlsca_cert)},
        "cryptoPath": str(orderer_layout.root),
        "users": {ADMIN: _user(orderer_layout, ADMIN)},
    }
    peers = {s.name: _endpoint(s, layout.org(s.msp_id), network.tls) for s in specs if s.kind == "peer"}
    orderers = {s.name: _endpoint(s, layout.org(s.msp_id), network.tls) for s in specs if s.kind == "orderer"}
    channels = {
        channel.name: {
            "organizations": list(channel.organizations),
            "orderers": list(orderers),
            "peers": {s.name: {"endorsingPeer": True, "chaincodeQuery": True, "ledgerQuery": True, "eventSource": True}
                      for s in specs if s.kind == "peer" and s.msp_id in channel.organizations},
            "chaincodes": [cc.name for cc in channel.chaincodes],
        }
        for channel in network.channels
    }
    return {
        "name": network.name,
        "version": VERSION,
        "tls": network.tls,
        "organizations": orgs,
        "peers": peers,
        "orderers": orderers,
        "channels": channels,
    }


def write_profile(path: Path, profile: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(profile, indent=2) + "\n")
    tmp.replace(path)


def read_profile(path: Path) -> dict[str, Any] | None:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) else None
