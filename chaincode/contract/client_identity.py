"""ClientIdentity: who submitted the proposal, for access checks inside a transaction.

The peer has already checked that the creator's certificate was issued by one of the
channel's MSPs before the chaincode runs; what is left to the contract is deciding
whether *this* member may do *this*. The application model (DOMAIN.md §2.2) decides by
MSP id and by enrolment attributes that Fabric CA writes into the certificate (`role`,
`entity_id`, `province`, ...), so those get assertion helpers that fail the transaction
with `ERR_UNAUTHORIZED` and a message naming what was required and what was found.

Two different things are called a role here, as in Fabric:

* `role` is the NodeOU of the certificate (client, peer, admin, orderer), from the
  subject's OU values: what kind of member the MSP says this is;
* `assert_role` checks the `role` enrolment *attribute*, the application's role
  (`officer`, `emitter`, ...).
"""

from __future__ import annotations

from cryptography import x509

from chaincode.contract.errors import ContractError
from consortia.msp.identity import Identity, deserialize_identity

UNAUTHORIZED = "ERR_UNAUTHORIZED"
NODE_OUS = ("client", "peer", "admin", "orderer")  # Fabric's default NodeOU identifiers
ROLE_ATTRIBUTE = "role"


class ClientIdentity:
    """The proposal creator: MSP id, certificate, NodeOU role and enrolment attributes."""

    def __init__(self, identity: Identity) -> None:
        self._identity = identity

    @classmethod
    def from_creator(cls, creator: bytes) -> ClientIdentity:
        """From the creator bytes (a msp.SerializedIdentity) of the signed proposal."""
        return cls(deserialize_identity(creator))

    @property
    def msp_id(self) -> str:
        return str(self._identity.msp_id)

    @property
    def certificate(self) -> x509.Certificate:
        return self._identity.certificate

    @property
    def id(self) -> str:
        """`x509::<subject>::<issuer>`, the distinguished names most specific first.

        This is fabric-contract-api's form (and, base64-encoded, Go's `cid.GetID`):
        unique within an MSP and stable across re-enrolments with the same name.
        """
        cert = self._identity.certificate
        return f"x509::{cert.subject.rfc4514_string()}::{cert.issuer.rfc4514_string()}"

    @property
    def role(self) -> str | None:
        """The NodeOU (client, peer, admin, orderer) among the subject's OUs, if any."""
        for ou in self._identity.organizational_units:
            if ou in NODE_OUS:
                return ou
        return None

    @property
    def attributes(self) -> dict[str, str]:
        """Fabric CA enrolment attributes of the certificate (empty if it has none)."""
        return dict(self._identity.attributes)

    def get_attribute_value(self, name: str) -> str | None:
        return self._identity.attributes.get(name)

    # ----- assertions: return what they checked, raise ERR_UNAUTHORIZED otherwise -----

    def assert_msp(self, *msp_ids: str) -> str:
        """The caller's MSP id, which must be one of `msp_ids`."""
        _need_some(msp_ids, "assert_msp")
        if self.msp_id not in msp_ids:
            raise ContractError(f"caller must belong to {_one_of(msp_ids)}, found MSP {self.msp_id!r}", UNAUTHORIZED)
        return self.msp_id

    def assert_role(self, *roles: str) -> str:
        """The caller's `role` attribute, which must be one of `roles`."""
        _need_some(roles, "assert_role")
        return self.assert_attribute(ROLE_ATTRIBUTE, *roles)

    def assert_attribute(self, name: str, *values: str) -> str:
        """The caller's attribute `name`: present, and one of `values` if any are given."""
        found = self.get_attribute_value(name)
        if found is None:
            wanted = f" = {_one_of(values)}" if values else ""
            raise ContractError(f"caller must have attribute {name!r}{wanted}, found no {name!r} attribute "
                                f"(MSP {self.msp_id!r})", UNAUTHORIZED)
        if values and found not in values:
            raise ContractError(f"caller must have attribute {name!r} = {_one_of(values)}, found {found!r}",
                                UNAUTHORIZED)
        return found

    def __repr__(self) -> str:
        return f"ClientIdentity(msp_id={self.msp_id!r}, id={self.id!r})"


def _one_of(values: tuple[str, ...]) -> str:
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else "one of " + ", ".join(quoted)


def _need_some(values: tuple[str, ...], method: str) -> None:
    if not values:
        raise TypeError(f"{method} needs at least one accepted value")
