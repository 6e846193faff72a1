"""Context: what one transaction sees, passed to every transaction and hook.

A contract object serves many transactions at once (interleaved while each waits for
the peer), so anything that belongs to one transaction lives on its context, never on the
contract. A contract that wants more per-transaction state (a cache of decoded
records, the caller's organisation record) subclasses Context and returns it from
`Contract.create_context`.
"""

from __future__ import annotations

from chaincode.contract.client_identity import ClientIdentity
from chaincode.shim.stub import ChaincodeStub


class Context:
    """The stub of this transaction and the identity that submitted it."""

    def __init__(self, stub: ChaincodeStub) -> None:
        self.stub = stub
        self._client_identity: ClientIdentity | None = None

    @property
    def client_identity(self) -> ClientIdentity:
        """The proposal creator, decoded on first use (most queries never ask)."""
        if self._client_identity is None:
            self._client_identity = ClientIdentity.from_creator(self.stub.get_creator())
        return self._client_identity
