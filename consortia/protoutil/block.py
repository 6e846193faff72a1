"""Blocks, hashed and signed exactly as Fabric does.

- data hash: SHA-256 over the concatenated envelope bytes, in order;
- header hash: SHA-256 of the DER encoding of
  `SEQUENCE { INTEGER number, OCTET STRING previous_hash, OCTET STRING data_hash }`;
  block n+1 carries block n's header hash as its previous hash;
- orderer signature: over `Metadata.value ‖ signature_header ‖ header DER bytes`, kept
  in metadata[SIGNATURES] with an `OrdererBlockMetadata` (last config index) as value;
- metadata[TRANSACTIONS_FILTER]: one validation code byte per transaction (peer's job).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from fabric_protos.common import common_pb2

from consortia.errors import MessageError
from consortia.msp.signing import SignedData
from consortia.protoutil.envelope import decode, make_signature_header
from consortia.protoutil.signer import Signer

SIGNATURES = common_pb2.SIGNATURES
LAST_CONFIG = common_pb2.LAST_CONFIG
TRANSACTIONS_FILTER = common_pb2.TRANSACTIONS_FILTER
ORDERER = common_pb2.ORDERER
COMMIT_HASH = common_pb2.COMMIT_HASH
METADATA_SLOTS = len(common_pb2.BlockMetadataIndex.keys())


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def header_bytes(header: common_pb2.BlockHeader) -> bytes:
    """The DER bytes Fabric hashes and signs for a block header."""
    number = int(header.number)
    integer = number.to_bytes(number.bit_length() // 8 + 1, "big")  # minimal two's complement, >= 0
    body = _der(0x02, integer) + _der(0x04, bytes(header.previous_hash)) + _der(0x04, bytes(header.data_hash))
    return _der(0x30, body)


def header_hash(header: common_pb2.BlockHeader) -> bytes:
    return hashlib.sha256(header_bytes(header)).digest()


def data_hash(data: common_pb2.BlockData | Sequence[bytes]) -> bytes:
    items = data.data if isinstance(data, common_pb2.BlockData) else data
    digest = hashlib.sha256()
    for item in items:
        digest.update(item)
    return digest.digest()


def new_block(number: int, previous_hash: bytes, envelopes: Sequence[bytes]) -> common_pb2.Block:
    """An unsigned block over `envelopes` with empty metadata slots."""
    block = common_pb2.Block(
        header=common_pb2.BlockHeader(number=number, previous_hash=previous_hash),
        data=common_pb2.BlockData(data=list(envelopes)),
        metadata=common_pb2.BlockMetadata(metadata=[b""] * METADATA_SLOTS),
    )
    block.header.data_hash = data_hash(block.data)
    return block


def sign_block(
    block: common_pb2.Block, signer: Signer, *, last_config_index: int, consenter_metadata: bytes = b""
) -> None:
    """Add the orderer's signature to metadata[SIGNATURES] (in place)."""
    value = common_pb2.OrdererBlockMetadata(
        last_config=common_pb2.LastConfig(index=last_config_index), consenter_metadata=consenter_metadata
    ).SerializeToString()
    signature_header = make_signature_header(signer.serialize()).SerializeToString()
    signature = signer.sign(value + signature_header + header_bytes(block.header))
    metadata = common_pb2.Metadata(
        value=value,
        signatures=[common_pb2.MetadataSignature(signature_header=signature_header, signature=signature)],
    )
    _ensure_slots(block)
    block.metadata.metadata[SIGNATURES] = metadata.SerializeToString()


def _ensure_slots(block: common_pb2.Block) -> None:
    while len(block.metadata.metadata) < METADATA_SLOTS:
        block.metadata.metadata.append(b"")


def signatures_metadata(block: common_pb2.Block) -> common_pb2.Metadata:
    if len(block.metadata.metadata) <= SIGNATURES or not block.metadata.metadata[SIGNATURES]:
        raise MessageError(f"block {block.header.number} carries no orderer signatures")
    return decode(common_pb2.Metadata, block.metadata.metadata[SIGNATURES], "block signatures metadata")


def block_signatures(block: common_pb2.Block) -> list[SignedData]:
    """Each orderer signature of the block as SignedData, for the BlockValidation policy."""
    metadata = signatures_metadata(block)
    header = header_bytes(block.header)
    signed = []
    for index, sig in enumerate(metadata.signatures):
        sig_header = decode(common_pb2.SignatureHeader, sig.signature_header, f"block signature {index} header")
        signed.append(
            SignedData(
                data=metadata.value + sig.signature_header + header,
                identity=bytes(sig_header.creator),
                signature=bytes(sig.signature),
            )
        )
    return signed


def last_config_index(block: common_pb2.Block) -> int:
    metadata = signatures_metadata(block)
    value = decode(common_pb2.OrdererBlockMetadata, metadata.value, "orderer block metadata")
    return int(value.last_config.index)


def transactions_filter(block: common_pb2.Block) -> bytes:
    if len(block.metadata.metadata) <= TRANSACTIONS_FILTER:
        return b""
    return bytes(block.metadata.metadata[TRANSACTIONS_FILTER])


def set_transactions_filter(block: common_pb2.Block, codes: Sequence[int]) -> None:
    if len(codes) != len(block.data.data):
        raise MessageError(f"block {block.header.number} has {len(block.data.data)} transactions, got {len(codes)} codes")
    _ensure_slots(block)
    block.metadata.metadata[TRANSACTIONS_FILTER] = bytes(codes)


def set_commit_hash(block: common_pb2.Block, digest: bytes) -> None:
    _ensure_slots(block)
    block.metadata.metadata[COMMIT_HASH] = common_pb2.Metadata(value=digest).SerializeToString()


def commit_hash_of(block: common_pb2.Block) -> bytes:
    if len(block.metadata.metadata) <= COMMIT_HASH or not block.metadata.metadata[COMMIT_HASH]:
        return b""
    return bytes(decode(common_pb2.Metadata, block.metadata.metadata[COMMIT_HASH], "commit hash metadata").value)


def check_chain(block: common_pb2.Block, expected_number: int, previous_hash: bytes | None) -> None:
    """Check a block's place in the chain and its data hash; MessageError saying what is off.

    `previous_hash` is the header hash of the block before (None for block 0).
    """
    if block.header.number != expected_number:
        raise MessageError(f"expected block {expected_number}, received block {block.header.number}")
    if previous_hash is not None and block.header.previous_hash != previous_hash:
        raise MessageError(
            f"block {block.header.number} previous hash {block.header.previous_hash.hex()} does not match "
            f"the hash of block {expected_number - 1} ({previous_hash.hex()})"
        )
    computed = data_hash(block.data)
    if block.header.data_hash != computed:
        raise MessageError(
            f"block {block.header.number} data hash {block.header.data_hash.hex()} does not match its data ({computed.hex()})"
        )
