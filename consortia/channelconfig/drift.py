"""What a network file would change in a channel that already exists.

A channel's configuration is fixed by its genesis block here: configuration updates
are not supported yet. `network up` keeps an existing channel as it was created, and
uses this to tell the user which edits of the network file it therefore ignores,
instead of ignoring them in silence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from consortia.protos.v1 import channel_config_pb2 as cc


def config_drift(existing: cc.ChannelConfig, wanted: cc.ChannelConfig) -> list[str]:
    """The parts of `existing` that `wanted` would change, each named for a person."""
    changes = _policy_changes("the channel's", existing.policies, wanted.policies)
    changes += _org_changes("member", existing.application.organizations, wanted.application.organizations)
    changes += _policy_changes("the application", existing.application.policies, wanted.application.policies)
    old, new = existing.orderer, wanted.orderer
    changes += _org_changes("orderer", old.organizations, new.organizations)
    changes += _policy_changes("the orderer", old.policies, new.policies)
    if old.consensus_type != new.consensus_type:
        changes.append(f"consensus type ({old.consensus_type} -> {new.consensus_type})")
    if list(old.consenters) != list(new.consenters):
        changes.append("the ordering nodes")
    if old.batch_size != new.batch_size:
        changes.append("batch size")
    if old.batch_timeout_ms != new.batch_timeout_ms:
        changes.append(f"batch timeout ({old.batch_timeout_ms} ms -> {new.batch_timeout_ms} ms)")
    return changes


def _org_changes(kind: str, old: Iterable[cc.Organization], new: Iterable[cc.Organization]) -> list[str]:
    before = {org.msp.msp_id: org for org in old}
    after = {org.msp.msp_id: org for org in new}
    changes = []
    if added := sorted(after.keys() - before.keys()):
        changes.append(f"{kind} organizations added ({', '.join(added)})")
    if removed := sorted(before.keys() - after.keys()):
        changes.append(f"{kind} organizations removed ({', '.join(removed)})")
    for msp_id in sorted(before.keys() & after.keys()):
        was, now = before[msp_id], after[msp_id]
        parts = [name for name, differs in (("name", was.name != now.name), ("certificates", was.msp != now.msp),
                                            ("policies", dict(was.policies) != dict(now.policies)),
                                            ("endpoints", list(was.endpoints) != list(now.endpoints))) if differs]
        if parts:
            changes.append(f"{msp_id}'s {', '.join(parts)}")
    return changes


def _policy_changes(whose: str, old: Mapping[str, cc.Policy], new: Mapping[str, cc.Policy]) -> list[str]:
    names = sorted(name for name in old.keys() | new.keys() if old.get(name) != new.get(name))
    return [f"{whose} {', '.join(names)} {'policy' if len(names) == 1 else 'policies'}"] if names else []
