"""The steps of DOMAIN.md §8 SC-01 (1-5) the mrv tests share, and readers of the fake
ledger's records, private data and key-level policies."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from chaincode.shim.stub import ChaincodeStub
from consortia.policy import parse_signature_policy, signature_policy_bytes

ENTITIES = {"E1": ("Dongfang Power", "GD", "COAL_GT300", 1_850_000),
            "E2": ("Nanhai Thermal", "GD", "COAL_GT300", 1_150_000),
            "E4": ("Jinan Heat", "SD", "COAL_LE300", 900_000)}
# entity: (Jan-Nov each month, December) as (t, MWh) -- SC-01 step 3
MONTHLY = {"E1": ((154_000, 166_000), (156_000, 174_000)),
           "E2": ((95_800, 116_600), (96_200, 117_400)),
           "E4": ((75_000, 80_000), (75_000, 80_000))}
TOTALS = {"E1": (1_850_000, 2_000_000), "E2": (1_150_000, 1_400_000), "E4": (900_000, 960_000)}
FINDINGS = "f0" * 32
REASON = "0b" * 32


def sha(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def key(kind: str, *parts: str) -> str:
    return ChaincodeStub.create_composite_key(kind, list(parts))


def record(mrv: Any, kind: str, *parts: str) -> Any:
    """The committed record under `kind~parts` (KeyError if none)."""
    return json.loads(mrv.ledger.state[key(kind, *parts)])


def policy_of(mrv: Any, kind: str, *parts: str) -> bytes:
    return bytes(mrv.ledger.policies[key(kind, *parts)])


def peers(*msps: str) -> bytes:
    return signature_policy_bytes(parse_signature_policy("AND(" + ", ".join(f"'{m}.peer'" for m in msps) + ")"))


def refused(mrv: Any, code: str, who: str, function: str, *args: object, at: str = "2022-01-10T10:00",
            transient: dict[str, bytes] | None = None, naming: str = "") -> str:
    """The message of a refused call, checked to carry `code` (and `naming`)."""
    message = str(mrv.refused(who, function, *args, at=at, transient=transient))
    assert message.startswith(f"{code}: "), message
    assert naming in message, message
    return message


def plan_of(entity: str) -> bytes:
    return f"data quality control plan of {entity}: coal sampling per GB/T 31391".encode()


def raw_of(entity: str, period: str) -> bytes:
    return f'{{"entity":"{entity}","period":"{period}","coal_t":81234,"ncv_gj_per_t":21.5}}'.encode()


def register(mrv: Any, *entities: str, at: str = "2021-01-04T09:00") -> None:
    for entity in entities:
        name, province, unit_type, est = ENTITIES[entity]
        mrv.call(province.lower(), "register_entity", entity, name, province, unit_type, est, at=at)


def approve_plan(mrv: Any, *entities: str, at: str = "2021-01-05T09:00") -> None:
    for entity in entities:
        plan = plan_of(entity)
        mrv.call(entity, "submit_plan", entity, "P1", sha(plan), at=at, transient={"plan": plan})
        mrv.call(ENTITIES[entity][1].lower(), "approve_plan", entity, "P1", at=at)


def submit_month(mrv: Any, entity: str, period: str, emissions_t: int, mwh: int, at: str) -> None:
    raw = raw_of(entity, period)
    mrv.call(entity, "submit_monthly", entity, period, emissions_t, mwh, 0, sha(raw), at=at, transient={"raw": raw})


def submit_year(mrv: Any, entity: str, year: int = 2021, *, months: int = 12) -> None:
    """`months` months of SC-01's monthly data, each uploaded on the 10th of the next month."""
    regular, december = MONTHLY[entity]
    for month in range(1, months + 1):
        t, mwh = december if month == 12 else regular
        at = f"{year + 1}-01-10T10:00" if month == 12 else f"{year}-{month + 1:02d}-10T10:00"
        submit_month(mrv, entity, f"{year}-{month:02d}", t, mwh, at)


def report_hash(entity: str) -> str:
    return sha(f"annual report 2021 of {entity}".encode())


def submit_report(mrv: Any, entity: str, at: str = "2022-03-20T10:00") -> None:
    t, mwh = TOTALS[entity]
    mrv.call(entity, "submit_annual_report", entity, 2021, t, mwh, 0, report_hash(entity), at=at)


def reported(mrv: Any, *entities: str) -> None:
    """SC-01 steps 1-4 for `entities`: registered, plan approved, 2021 reported."""
    register(mrv, *entities)
    approve_plan(mrv, *entities)
    for entity in entities:
        submit_year(mrv, entity)
        submit_report(mrv, entity)


def verify(mrv: Any, entity: str, *, confirm: bool = True) -> None:
    """SC-01 step 5: V1 assigned 2022-04-01, figures equal to the report 2022-06-10,
    confirmed 2022-06-15 (Wed)."""
    province = ENTITIES[entity][1].lower()
    t, mwh = TOTALS[entity]
    mrv.call(province, "assign_verifier", entity, 2021, "V1", at="2022-04-01T10:00")
    mrv.call("V1", "submit_verification", entity, 2021, t, mwh, 0, FINDINGS, at="2022-06-10T10:00")
    if confirm:
        mrv.call(province, "confirm_verification", entity, 2021, at="2022-06-15T10:00")
