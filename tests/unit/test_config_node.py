"""Peer node configuration: TLS, the gateway's settings and chaincode deployments are checked
when the file loads, each problem named with its line and field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from consortia.config.node import load_peer_config
from consortia.errors import ConfigError

pytestmark = pytest.mark.unit


def write(tmp_path: Path, **settings: Any) -> Path:
    msp = tmp_path / "msp" / "signcerts"
    msp.mkdir(parents=True, exist_ok=True)
    for name in ("server.crt", "server.key", "ca.crt"):
        (tmp_path / name).write_text("pem")
    (tmp_path / "cc").mkdir(exist_ok=True)
    config = {"msp_id": "Org1MSP", "msp_dir": "msp", "listen": "127.0.0.1:7051", "admin_listen": "127.0.0.1:7052",
              "data_dir": "data", **settings}
    path = tmp_path / "peer.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_peer_config(path)
    return info.value.problems


TLS = {"enabled": True, "cert": "server.crt", "key": "server.key"}


def test_gateway_settings_and_external_address_load(tmp_path: Path) -> None:
    config = load_peer_config(write(tmp_path, external_address="peer0.org1.example.com:7051",
                                    gateway={"endorsement_timeout": "5s", "broadcast_timeout": "2s"},
                                    tls={**TLS, "root_cert": "ca.crt"}))
    assert config.external_address == "peer0.org1.example.com:7051"
    assert (config.gateway.endorsement_timeout, config.gateway.broadcast_timeout) == (5000, 2000)
    assert config.tls.root_cert == tmp_path / "ca.crt"  # relative to the file


def test_bad_external_address_and_unknown_gateway_key(tmp_path: Path) -> None:
    found = problems(write(tmp_path, external_address="nowhere"))
    assert any("external_address: expected host:port" in p for p in found)
    found = problems(write(tmp_path, gateway={"endorse_timeout": "5s"}))
    assert any("gateway.endorse_timeout: unknown field; did you mean 'endorsement_timeout'?" in p for p in found)


def test_launched_chaincode_under_tls_needs_the_peer_root_cert(tmp_path: Path) -> None:
    found = problems(write(tmp_path, tls=TLS, chaincode_listen="127.0.0.1:7053",
                           chaincodes=[{"name": "cc", "channels": ["ch1"], "path": "cc"}]))
    assert any("tls.root_cert" in p and "chaincode 'cc' is launched by the peer" in p for p in found)


def test_service_tls_root_needs_an_address_an_existing_file_and_peer_tls(tmp_path: Path) -> None:
    found = problems(write(tmp_path, chaincode_listen="127.0.0.1:7053", chaincodes=[
        {"name": "local", "channels": ["ch1"], "path": "cc", "tls_root_cert": "ca.crt"},
        {"name": "svc", "channels": ["ch1"], "address": "127.0.0.1:9999", "tls_root_cert": "missing.crt"},
    ]))
    text = "\n".join(found)
    assert "chaincodes[0].tls_root_cert: only a chaincode-as-a-service (address) is dialled over TLS" in text
    assert "chaincodes[1].tls_root_cert: file" in text and "missing.crt does not exist" in text
    assert "the peer needs TLS enabled" in text
    assert all(":" in p.split(" ")[0] for p in found)  # FILE:LINE on every problem


def test_missing_tls_root_cert_file_is_named(tmp_path: Path) -> None:
    found = problems(write(tmp_path, tls={**TLS, "root_cert": "nope.crt"}))
    assert any("tls.root_cert: file" in p and "nope.crt does not exist" in p for p in found)


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="choosing CPUs needs Linux")
def test_cpus_must_be_this_machine_s_each_once(tmp_path: Path) -> None:
    mine = sorted(os.sched_getaffinity(0))
    config = load_peer_config(write(tmp_path, cpus=[mine[0]], chaincode_cpus=[mine[-1]]))
    assert (config.cpus, config.chaincode_cpus) == ([mine[0]], [mine[-1]])
    assert load_peer_config(write(tmp_path)).cpus == []  # by default: wherever the kernel puts it
    absent = mine[-1] + 1000
    found = problems(write(tmp_path, cpus=[absent], chaincode_cpus=[mine[0], mine[0]]))
    assert any(f"cpus: CPU {absent} not available to this process (it may use " in p for p in found)
    assert any("chaincode_cpus: lists a CPU twice" in p for p in found)
    found = problems(write(tmp_path, cpus=["first"]))
    assert any("cpus[0]" in p and "integer" in p for p in found)
