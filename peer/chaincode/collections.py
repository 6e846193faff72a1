"""Who may do what with a chaincode's private data collections, on this peer, for this
transaction (Fabric's checks at endorsement).

Reading values needs a collection this peer keeps (its organization is a member: other
peers hold only hashes) and, when the collection is `memberOnlyRead`, a creator from a
member organization; writing needs, when it is `memberOnlyWrite`, such a creator. Hashes
and key metadata are readable on every peer of the channel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeAlias

from fabric_protos.peer import collection_pb2

from consortia.errors import ConsortiaError
from consortia.lifecycle.collections import member_msp_ids

Config: TypeAlias = collection_pb2.StaticCollectionConfig


class CollectionAccessError(ConsortiaError):
    """The transaction may not use the collection this way; the chaincode gets the message."""


@dataclass(frozen=True)
class CollectionAccess:
    peer_msp: str
    creator_msp: str
    lookup: Callable[[str, str], Config | None]  # (chaincode, collection) -> its configuration
    # Each collection's members, worked out once per transaction (a chaincode may read
    # the same collection many times).
    _members: dict[tuple[str, str], set[str]] = field(default_factory=dict, compare=False, repr=False)

    def config(self, namespace: str, collection: str) -> Config:
        found = self.lookup(namespace, collection)
        if found is None:
            raise CollectionAccessError(f"collection {collection} is not defined for chaincode {namespace}")
        return found

    def members(self, namespace: str, collection: str, config: Config) -> set[str]:
        found = self._members.get((namespace, collection))
        if found is None:
            found = self._members[(namespace, collection)] = member_msp_ids(config)
        return found

    def check_read(self, namespace: str, collection: str) -> None:
        config = self.config(namespace, collection)
        members = self.members(namespace, collection, config)
        if self.peer_msp not in members:
            raise CollectionAccessError(
                f"this peer's organization {self.peer_msp} is not a member of collection {collection} of {namespace} "
                f"(members: {', '.join(sorted(members))}): it keeps only hashes of its data; read it on a member's peer")
        if config.member_only_read and self.creator_msp not in members:
            raise CollectionAccessError(f"tx creator does not have read access permission on privatedata in "
                                        f"chaincodeName:{namespace} collectionName: {collection}")

    def check_write(self, namespace: str, collection: str) -> None:
        config = self.config(namespace, collection)
        if config.member_only_write and self.creator_msp not in self.members(namespace, collection, config):
            raise CollectionAccessError(f"tx creator does not have write access permission on privatedata in "
                                        f"chaincodeName:{namespace} collectionName: {collection}")
