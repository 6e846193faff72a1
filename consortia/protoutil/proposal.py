"""Proposals: what a client asks endorsers to run, signed.

    SignedProposal{proposal_bytes, signature}
      Proposal{header = Header{channel_header, signature_header}, payload}
        payload = ChaincodeProposalPayload{input = ChaincodeInvocationSpec, TransientMap}

The proposal hash that endorsers sign over (and that the transaction must match) is
SHA-256(channel_header ‖ signature_header ‖ payload without its transient map), so
private input in the transient map never reaches the ledger yet stays bound to the call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_pb2, proposal_pb2
from google.protobuf import timestamp_pb2

from consortia.errors import MessageError
from consortia.msp.signing import SignedData
from consortia.protoutil.envelope import decode, enum_name, make_channel_header, make_signature_header
from consortia.protoutil.signer import Signer
from consortia.protoutil.txid import compute_tx_id
from consortia.types import TxId


def payload_without_transient(payload: proposal_pb2.ChaincodeProposalPayload) -> bytes:
    """The proposal payload as it goes into the transaction: transient map removed."""
    return bytes(proposal_pb2.ChaincodeProposalPayload(input=payload.input).SerializeToString())


def proposal_hash(header: common_pb2.Header, payload: proposal_pb2.ChaincodeProposalPayload) -> bytes:
    digest = hashlib.sha256()
    digest.update(header.channel_header)
    digest.update(header.signature_header)
    digest.update(payload_without_transient(payload))
    return digest.digest()


def create_proposal(
    channel_id: str,
    chaincode: str,
    args: Sequence[bytes],
    creator: bytes,
    *,
    transient: Mapping[str, bytes] | None = None,
    nonce: bytes | None = None,
    is_init: bool = False,
    timestamp: timestamp_pb2.Timestamp | None = None,
) -> tuple[proposal_pb2.Proposal, TxId]:
    """A chaincode invocation proposal and its transaction id; `timestamp` (default: now)
    is the transaction time the chaincode reads."""
    signature_header = make_signature_header(creator, nonce)
    tx_id = compute_tx_id(signature_header.nonce, creator)
    extension = proposal_pb2.ChaincodeHeaderExtension(chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode))
    channel_header = make_channel_header(
        common_pb2.ENDORSER_TRANSACTION, channel_id, tx_id=tx_id, extension=extension.SerializeToString(),
        timestamp=timestamp,
    )
    spec = chaincode_pb2.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_pb2.ChaincodeSpec(
            type=chaincode_pb2.ChaincodeSpec.UNDEFINED,
            chaincode_id=chaincode_pb2.ChaincodeID(name=chaincode),
            input=chaincode_pb2.ChaincodeInput(args=list(args), is_init=is_init),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(input=spec.SerializeToString(), TransientMap=dict(transient or {}))
    header = common_pb2.Header(
        channel_header=channel_header.SerializeToString(), signature_header=signature_header.SerializeToString()
    )
    proposal = proposal_pb2.Proposal(header=header.SerializeToString(), payload=payload.SerializeToString())
    return proposal, tx_id


def sign_proposal(proposal: proposal_pb2.Proposal, signer: Signer) -> proposal_pb2.SignedProposal:
    proposal_bytes = proposal.SerializeToString()
    return proposal_pb2.SignedProposal(proposal_bytes=proposal_bytes, signature=signer.sign(proposal_bytes))


@dataclass(frozen=True)
class UnpackedProposal:
    """A SignedProposal decoded once, for the endorser and the gateway."""

    signed: proposal_pb2.SignedProposal
    proposal: proposal_pb2.Proposal
    header: common_pb2.Header
    channel_header: common_pb2.ChannelHeader
    signature_header: common_pb2.SignatureHeader
    payload: proposal_pb2.ChaincodeProposalPayload
    spec: chaincode_pb2.ChaincodeSpec
    chaincode: str
    hash: bytes = field(repr=False)

    @property
    def channel_id(self) -> str:
        return str(self.channel_header.channel_id)

    @property
    def tx_id(self) -> TxId:
        return TxId(self.channel_header.tx_id)

    @property
    def creator(self) -> bytes:
        return bytes(self.signature_header.creator)

    @property
    def args(self) -> list[bytes]:
        return list(self.spec.input.args)

    @property
    def transient(self) -> dict[str, bytes]:
        return dict(self.payload.TransientMap)

    def signed_data(self) -> SignedData:
        return SignedData(data=self.signed.proposal_bytes, identity=self.creator, signature=self.signed.signature)

    def check_tx_id(self) -> None:
        expected = compute_tx_id(self.signature_header.nonce, self.signature_header.creator)
        if self.channel_header.tx_id != expected:
            raise MessageError(
                f"transaction id {self.channel_header.tx_id!r} does not match the proposal header: "
                f"expected {expected} = sha256(nonce ‖ creator)"
            )


def unpack_proposal(signed: proposal_pb2.SignedProposal) -> UnpackedProposal:
    """Decode a chaincode proposal; MessageError says which part is malformed."""
    if not signed.proposal_bytes:
        raise MessageError("signed proposal carries no proposal bytes")
    if not signed.signature:
        raise MessageError("signed proposal carries no signature")
    proposal = decode(proposal_pb2.Proposal, signed.proposal_bytes, "proposal")
    header = decode(common_pb2.Header, proposal.header, "proposal header")
    channel_header = decode(common_pb2.ChannelHeader, header.channel_header, "channel header")
    signature_header = decode(common_pb2.SignatureHeader, header.signature_header, "signature header")
    if channel_header.type != common_pb2.ENDORSER_TRANSACTION:
        name = enum_name(common_pb2.HeaderType, channel_header.type)
        raise MessageError(f"proposal header type is {name}; expected ENDORSER_TRANSACTION")
    if not signature_header.creator:
        raise MessageError("proposal signature header has no creator")
    if not signature_header.nonce:
        raise MessageError("proposal signature header has no nonce")
    extension = decode(proposal_pb2.ChaincodeHeaderExtension, channel_header.extension, "chaincode header extension")
    chaincode = extension.chaincode_id.name
    if not chaincode:
        raise MessageError("proposal names no chaincode in its header extension")
    payload = decode(proposal_pb2.ChaincodeProposalPayload, proposal.payload, "proposal payload")
    invocation = decode(chaincode_pb2.ChaincodeInvocationSpec, payload.input, "chaincode invocation spec")
    if invocation.chaincode_spec.chaincode_id.name and invocation.chaincode_spec.chaincode_id.name != chaincode:
        raise MessageError(
            f"proposal header names chaincode {chaincode!r} but its input names "
            f"{invocation.chaincode_spec.chaincode_id.name!r}"
        )
    return UnpackedProposal(
        signed=signed,
        proposal=proposal,
        header=header,
        channel_header=channel_header,
        signature_header=signature_header,
        payload=payload,
        spec=invocation.chaincode_spec,
        chaincode=chaincode,
        hash=proposal_hash(header, payload),
    )
