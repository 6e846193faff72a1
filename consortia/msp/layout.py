"""Fabric's on-disk MSP folder, as `cryptogen` and Fabric CA lay it out.

    msp/cacerts/*.pem              root CA certificates
    msp/intermediatecerts/*.pem    intermediate CA certificates (optional)
    msp/tlscacerts/*.pem           TLS root CA certificates
    msp/config.yaml                NodeOUs
    msp/signcerts/*.pem            a local identity's certificate
    msp/keystore/priv_sk           and its private key (PKCS#8 PEM)

Reading this layout is how nodes and clients get their identity and how a channel's
genesis block gets each org's MSP definition; writing it is `consortia crypto generate`.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from consortia.errors import IdentityError
from consortia.msp.ca import load_private_key_pem
from consortia.msp.identity import Identity, serialize_identity
from consortia.msp.msp import MSP, NodeOUs
from consortia.msp.signing import SigningIdentity
from consortia.types import MspId

CONFIG_FILE = "config.yaml"
_OU_KEYS = {
    "client": "ClientOUIdentifier",
    "peer": "PeerOUIdentifier",
    "admin": "AdminOUIdentifier",
    "orderer": "OrdererOUIdentifier",
}


def node_ous_yaml(ca_cert_relpath: str, node_ous: NodeOUs = NodeOUs()) -> str:
    """The `config.yaml` that turns NodeOUs on, naming the CA that issues each role."""
    doc = {
        "NodeOUs": {
            "Enable": node_ous.enabled,
            **{
                key: {"Certificate": ca_cert_relpath, "OrganizationalUnitIdentifier": getattr(node_ous, role)}
                for role, key in _OU_KEYS.items()
            },
        }
    }
    return yaml.safe_dump(doc, sort_keys=False)


def _read_certs(folder: Path) -> list[x509.Certificate]:
    if not folder.is_dir():
        return []
    certs: list[x509.Certificate] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file():
            continue
        try:
            certs.extend(x509.load_pem_x509_certificates(path.read_bytes()))
        except ValueError as exc:
            raise IdentityError(f"{path}: not a PEM certificate ({exc})") from exc
    return certs


def read_node_ous(msp_dir: Path) -> NodeOUs:
    path = msp_dir / CONFIG_FILE
    if not path.exists():
        return NodeOUs(enabled=False)
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise IdentityError(f"{path}: not valid YAML ({exc})") from exc
    section = doc.get("NodeOUs") if isinstance(doc, dict) else None
    if not isinstance(section, dict) or not section.get("Enable"):
        return NodeOUs(enabled=False)
    values: dict[str, str] = {}
    for role, key in _OU_KEYS.items():
        entry = section.get(key)
        if entry is None:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("OrganizationalUnitIdentifier"), str):
            raise IdentityError(f"{path}: NodeOUs.{key} needs an OrganizationalUnitIdentifier string")
        values[role] = entry["OrganizationalUnitIdentifier"]
    return NodeOUs(enabled=True, **values)


def load_msp(msp_dir: str | Path, msp_id: str) -> MSP:
    """Load an organization's verifying MSP from an `msp/` folder."""
    folder = Path(msp_dir)
    if not folder.is_dir():
        raise IdentityError(f"MSP folder {folder} does not exist")
    roots = _read_certs(folder / "cacerts")
    if not roots:
        raise IdentityError(f"MSP folder {folder} has no CA certificate in cacerts/")
    return MSP(
        msp_id,
        root_certs=roots,
        intermediate_certs=_read_certs(folder / "intermediatecerts"),
        node_ous=read_node_ous(folder),
        tls_root_certs=_read_certs(folder / "tlscacerts"),
        tls_intermediate_certs=_read_certs(folder / "tlsintermediatecerts"),
    )


def load_signing_identity(msp_dir: str | Path, msp_id: str) -> SigningIdentity:
    """Load a local identity: the certificate in `signcerts/` and its key in `keystore/`."""
    folder = Path(msp_dir)
    certs = _read_certs(folder / "signcerts")
    if len(certs) != 1:
        raise IdentityError(f"{folder / 'signcerts'}: expected exactly one certificate, found {len(certs)}")
    cert = certs[0]
    wanted = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    keystore = folder / "keystore"
    for path in sorted(keystore.iterdir()) if keystore.is_dir() else []:
        if not path.is_file():
            continue
        try:
            key = load_private_key_pem(path.read_bytes())
        except (ValueError, TypeError):
            continue  # not a key, another kind of key, or an encrypted one
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        if public == wanted:
            pem = cert.public_bytes(serialization.Encoding.PEM)
            identity = Identity(msp_id=MspId(msp_id), certificate=cert, serialized=serialize_identity(msp_id, pem))
            return SigningIdentity(identity=identity, private_key=key)
    raise IdentityError(f"{keystore}: no private key matches the certificate in signcerts/")
