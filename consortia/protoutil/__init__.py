"""Build, parse and hash Fabric's messages exactly as Fabric does.

Messages are Fabric's protobufs from `fabric_protos`; nothing here hand-writes a wire
format. The rules (what is hashed, what is signed, how messages nest) are those of
shared/FABRIC_WIRE.md, checked against blocks committed by a real Fabric 2.5 peer.
Signed bytes are kept as received: a signature is always checked over the exact bytes
that arrived, never over a re-serialization.
"""
