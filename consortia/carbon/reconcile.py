"""The cross-channel link of DOMAIN.md §6.3, checked from outside both channels.

A chaincode cannot read another channel in a way the validators check, so the trading
chaincode only records, with each obligation, which verified annual report it rests on:
`report_ref` = `mrv:AR~{entity}~{year}~v{n}:{sha256}`, the SHA-256 of the report's
record as the mrv chaincode stores it (its JSON with sorted keys and no spaces). This
module reads every obligation on `trading` and the reports on `data-sharing`, and
reports each obligation whose reference does not name a VERIFIED, current report with
that digest and the same verified emissions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consortia.carbon.invariants import SUPERVISOR, trading_records
from consortia.carbon.session import Refused, Session

REPORT_REF = re.compile(r"mrv:AR~(?P<entity>[^~]+)~(?P<year>\d{4})~v(?P<version>\d+):(?P<digest>[0-9a-f]{64})")


def report_digest(report: Mapping[str, Any]) -> str:
    """The SHA-256 (hex) of an annual report record, as a `report_ref` carries it."""
    return hashlib.sha256(json.dumps(report, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def report_ref(report: Mapping[str, Any]) -> str:
    """The `report_ref` naming `report` (an `AR~` record of the mrv chaincode)."""
    return f"mrv:AR~{report['entity_id']}~{report['year']}~v{report['version']}:{report_digest(report)}"


@dataclass(frozen=True)
class Link:
    """One obligation on `trading` and what its report reference came to."""

    entity_id: str
    vintage: str
    report_ref: str
    problem: str  # empty when the reference matches

    @property
    def matches(self) -> bool:
        return not self.problem


def reconcile(session: Session, user: str = SUPERVISOR) -> list[Link]:
    """Every obligation with its report reference checked, read as `user` (by default the
    ministry's regulator, who may read both channels' records)."""
    entities = trading_records(session, user)("ENT")
    links = []
    histories: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for (entity_id,), entity in entities.items():
        for vintage, record in sorted(entity.get("vintages", {}).items()):
            if record.get("obligation_t") is None:
                continue
            ref = record.get("report_ref", "")
            links.append(Link(entity_id, vintage, ref, _problem(session, user, entity_id, vintage, record, histories)))
    return links


def _problem(session: Session, user: str, entity_id: str, vintage: str, obligation: Mapping[str, Any],
             histories: dict[tuple[str, int], list[dict[str, Any]]]) -> str:
    ref = obligation.get("report_ref", "")
    found = REPORT_REF.fullmatch(ref)
    if not found:
        return f"report_ref {ref!r} is not of the form mrv:AR~<entity>~<year>~v<n>:<sha256>"
    if found["entity"] != entity_id or found["year"] != vintage:
        return f"report_ref names the report of {found['entity']} for {found['year']}"
    year, version = int(found["year"]), int(found["version"])
    if (entity_id, year) not in histories:
        try:
            histories[entity_id, year] = session.evaluate(user, "data-sharing", "mrv", "mrv:get_history", entity_id, year)
        except Refused as exc:
            if exc.code != "ERR_NOT_FOUND":
                raise
            histories[entity_id, year] = []
    versions = {int(report["version"]): report for report in histories[entity_id, year]}
    report = versions.get(version)
    if report is None:
        return f"data-sharing has no version {version} of the {year} report of {entity_id}"
    if report["status"] != "VERIFIED":
        newer = [v for v in versions if v > version]
        return f"report v{version} is {report['status']}" + (f" (newest: v{max(newer)})" if newer else "")
    if report_digest(report) != found["digest"]:
        return f"report v{version} has digest {report_digest(report)}, not the one referenced"
    if report.get("verified_emissions_t") != obligation.get("verified_emissions_t"):
        return (f"the obligation rests on {obligation.get('verified_emissions_t')} t verified, report v{version} "
                f"says {report.get('verified_emissions_t')} t")
    return ""
