"""The connection profile `consortia network up` writes: Fabric's common connection
profile shape, with every user's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from consortia.config.network import Network
from consortia.network.profile import connection_profile, read_profile, write_profile

pytestmark = pytest.mark.unit


def test_peers_orderers_and_channels_as_fabric_profiles_list_them(carbon: Network, carbon_crypto: Path) -> None:
    profile = connection_profile(carbon, carbon_crypto)
    assert profile["name"] == "carbon-market" and profile["tls"] is True
    peer = profile["peers"]["peer0.registry.carbon.example"]
    assert peer["url"] == "grpcs://127.0.0.1:7130" and peer["mspid"] == "RegistryMSP"
    assert Path(peer["tlsCACerts"]["path"]).is_file()
    assert list(profile["orderers"]) == ["orderer0.orderer.carbon.example"]
    trading = profile["channels"]["trading"]
    assert "peer0.registry.carbon.example" in trading["peers"]
    assert "peer0.stats.carbon.example" not in trading["peers"]  # Stats is not a member
    assert trading["orderers"] == ["orderer0.orderer.carbon.example"]


def test_every_user_s_certificate_key_and_tls_pair_exist(carbon: Network, carbon_crypto: Path) -> None:
    profile = connection_profile(carbon, carbon_crypto)
    audit = profile["organizations"]["Audit"]
    assert audit["mspid"] == "AuditMSP" and audit["peers"] == []
    assert set(audit["users"]) == {"Admin", "Auditor", "Public"}
    for org in profile["organizations"].values():
        assert Path(org["tlsCACerts"]["path"]).is_file()
        for files in org["users"].values():
            for key in ("cert", "key", "tlsCert", "tlsKey"):
                assert Path(files[key]).is_file(), files[key]
            assert Path(files["mspDir"], "signcerts").is_dir()
    assert profile["organizations"]["Orderer"]["orderers"] == ["orderer0.orderer.carbon.example"]


def test_plaintext_networks_have_grpc_urls_and_no_tls_ca(minimal: Network, tmp_path: Path) -> None:
    plain = Network(name="p", organizations=minimal.organizations, base_port=minimal.base_port, tls=False,
                    orderer=minimal.orderer, channels=minimal.channels)
    profile = connection_profile(plain, tmp_path)
    assert profile["peers"]["peer0.org1.example.com"] == {
        "url": "grpc://127.0.0.1:7360", "mspid": "Org1MSP", "adminUrl": "grpc://127.0.0.1:7361",
    }


def test_the_profile_file_round_trips(minimal: Network, tmp_path: Path) -> None:
    profile = connection_profile(minimal, tmp_path)
    write_profile(tmp_path / "connection.json", profile)
    assert read_profile(tmp_path / "connection.json") == profile
    (tmp_path / "bad.json").write_text("[]")
    assert read_profile(tmp_path / "bad.json") is None
    assert read_profile(tmp_path / "missing.json") is None
