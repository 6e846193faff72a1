"""Transaction ids and nonces.

A transaction id is the lowercase hex SHA-256 of nonce ‖ creator. Because the creator
signs the header holding both, nobody else can reuse its id, and a peer can tell a
replayed transaction by its id alone.
"""

import hashlib
import secrets

from consortia.types import TxId

NONCE_SIZE = 24  # bytes, as Fabric's crypto.GetRandomNonce


def new_nonce() -> bytes:
    return secrets.token_bytes(NONCE_SIZE)


def compute_tx_id(nonce: bytes, creator: bytes) -> TxId:
    return TxId(hashlib.sha256(nonce + creator).hexdigest())
