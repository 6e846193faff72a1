"""The chaincode shim: the ChaincodeMessage protocol between a chaincode and its peer.

`handler` speaks the protocol over one stream (whichever side dialled), `stub` is what
chaincode code calls (`get_state`, `put_state`, ...), `server` runs a chaincode either
connecting to a peer (Fabric's classic mode, ChaincodeSupport/Register) or as a
service the peer connects to (chaincode-as-a-service, Chaincode/Connect).
"""

from chaincode.shim.interfaces import Chaincode, ChaincodeStubError, Response, error, success
from chaincode.shim.stub import ChaincodeStub

__all__ = ["Chaincode", "ChaincodeStub", "ChaincodeStubError", "Response", "error", "success"]
