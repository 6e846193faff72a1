"""admin.init_period, admin.set_benchmarks, admin.list_product (DOMAIN.md §5.3).

The market's fixed points. The ministry opens a compliance period (its vintages, its
deadlines, the caps on offsets and on the gap between emissions and allocation) and
publishes the benchmarks allocations are computed from; both records carry the key-level
policy Registry AND MEE (§6.1), so nobody else can change them. The exchange lists the
products that are traded and surrendered; a product's record carries Registry AND
Exchange, and every order touches it. Listing a product also opens its conservation
books: `ISS~` (issued, clawed back) and `RET~` (retired, cancelled), invariant I2.

Opening a period also creates, once, the province anchors `PROV~{code}` whose policy is
Registry AND that province: accounts of the province's entities are opened by touching
them.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from chaincode.contract import Context, transaction

from .common import (
    BM,
    CFG,
    EXCHANGE,
    ISS,
    MEE,
    PRODUCT,
    PROV,
    PROVINCE_MSPS,
    REGISTRY,
    RET,
    UNIT_TYPES,
    Store,
    caller,
    check_id,
    emit,
    fail,
    non_negative,
    one_of,
    parse_json,
    parse_time,
    peers_of,
    positive,
)

REGULATOR = {MEE: ("regulator",)}
EXCHANGE_OPERATOR = {EXCHANGE: ("exchange_operator",)}

DEADLINES = ("report_deadline", "verify_deadline", "surrender_deadline", "milestone95_date")
BORROWING_OFF = {"enabled": False, "min_gap_pct": 10, "max_pct_of_gap": 50, "from_product": ""}
PERIOD_FIELDS = frozenset({"vintages", "products", *DEADLINES, "ccer_cap_pct", "gap_cap_pct", "gas_exempt",
                           "borrowing", "holidays"})
BENCHMARK_FIELDS = ("supply_kg_per_mwh", "heat_kg_per_gj")
KINDS = ("CEA", "CCER")
CCER = "CCER"  # the one offset product: registry.import_ccer books onto HOLD~{account}~CCER


class AdminTransactions:
    """Transactions of the trading chaincode: admin.init_period, admin.set_benchmarks, admin.list_product."""

    @transaction
    def init_period(self, ctx: Context, period_id: str, params_json: str) -> None:
        """Open compliance period `period_id` (MEE regulator; once per period).

        `params_json` is the period config of DOMAIN.md §4.1; unknown fields are refused,
        and ccer_cap_pct (5), gap_cap_pct (20), gas_exempt (true), borrowing (disabled) and
        holidays ([]) may be left out. The deadlines must come in order: report ≤ verify ≤
        surrender, and the 95 % milestone no later than the surrender deadline. A vintage
        belongs to one period only (ERR_CONFLICT), so `common.period_of` is unambiguous.
        Stored as `CFG~period~{period_id}` = the config plus "period_id"; also creates the
        missing anchors `PROV~{code}` = {"code", "msp_id"}.
        """
        check_id(period_id, "period_id")
        period = {"period_id": period_id, **_period_config(parse_json(params_json, "params_json"))}
        caller(ctx, REGULATOR)
        store = Store(ctx)
        if store.get(CFG, "period", period_id) is not None:
            raise fail("ERR_CONFLICT", f"period {period_id} is already open")
        for _, other in store.scan(CFG, "period"):
            taken = sorted(set(other.get("vintages", [])) & set(period["vintages"]))
            if taken:
                raise fail("ERR_CONFLICT", f"vintages {taken} already belong to period {other.get('period_id')}")
        store.create(CFG, "period", period_id, record=period, policy=peers_of(REGISTRY, MEE))
        created = []
        for code, msp in sorted(PROVINCE_MSPS.items()):
            if store.get(PROV, code) is None:
                store.create(PROV, code, record={"code": code, "msp_id": msp}, policy=peers_of(REGISTRY, msp))
                created.append(code)
        emit(ctx, "PeriodOpened", {"period_id": period_id, "vintages": period["vintages"],
                                   "products": period["products"], "provinces_created": created})

    @transaction
    def set_benchmarks(self, ctx: Context, set_id: str, benchmarks_json: str) -> None:
        """Publish benchmark set `set_id` (MEE regulator; once per set).

        `benchmarks_json` maps every unit type (COAL_GT300, COAL_LE300, COAL_UNCONV, GAS)
        to {"supply_kg_per_mwh", "heat_kg_per_gj"}, whole numbers above 0. Stored as
        `BM~{set_id}` = {"set_id", "unit_types": {unit_type: {...}}}.
        """
        check_id(set_id, "set_id")
        unit_types = _benchmarks(parse_json(benchmarks_json, "benchmarks_json"))
        caller(ctx, REGULATOR)
        Store(ctx).create(BM, set_id, record={"set_id": set_id, "unit_types": unit_types},
                          policy=peers_of(REGISTRY, MEE))
        emit(ctx, "BenchmarksSet", {"set_id": set_id, "unit_types": sorted(unit_types)})

    @transaction
    def list_product(self, ctx: Context, code: str, kind: str, vintage: int | None, ref_price_fen: int) -> None:
        """List product `code` on the exchange (exchange operator; once per code).

        A CEA product has a vintage year (one CEA product per vintage, since allocation
        books a vintage onto its product); the offset product is listed as code CCER,
        kind CCER, vintage 0 or empty, and is stored with vintage 0. Writes
        `PRODUCT~{code}` = {"code", "kind", "vintage", "status": "LISTED",
        "ref_price_fen", "prev_close_fen", "last_trade_date": ""} (Registry AND Exchange),
        `ISS~{code}` = {"issued_t": 0, "clawed_back_t": 0} and
        `RET~{code}` = {"retired_t": 0, "cancelled_t": 0}.
        """
        check_id(code, "code")
        one_of(kind, KINDS, "kind")
        if kind == CCER:
            if vintage not in (None, 0):
                raise fail("ERR_INVALID_ARGUMENT", f"vintage of a CCER product must be 0 or empty, found {vintage}")
            if code != CCER:
                raise fail("ERR_INVALID_ARGUMENT", f"code of the CCER product must be CCER, found {code!r}")
            vintage = 0
        elif vintage is None:
            raise fail("ERR_INVALID_ARGUMENT", "vintage of a CEA product must be a year, found nothing")
        else:
            positive(vintage, "vintage")
            if code == CCER:
                raise fail("ERR_INVALID_ARGUMENT", "code CCER is the offset product's, found kind CEA")
        positive(ref_price_fen, "ref_price_fen")
        caller(ctx, EXCHANGE_OPERATOR)
        store = Store(ctx)
        if store.get(PRODUCT, code) is not None:
            raise fail("ERR_CONFLICT", f"product {code} is already listed")
        if kind == "CEA":
            for _, other in store.scan(PRODUCT):
                if other.get("kind") == "CEA" and other.get("vintage") == vintage:
                    raise fail("ERR_CONFLICT", f"vintage {vintage} is already listed as product {other['code']}")
        product = {"code": code, "kind": kind, "vintage": vintage, "status": "LISTED", "ref_price_fen": ref_price_fen,
                   "prev_close_fen": ref_price_fen, "last_trade_date": ""}
        store.create(PRODUCT, code, record=product, policy=peers_of(REGISTRY, EXCHANGE))
        store.create(ISS, code, record={"issued_t": 0, "clawed_back_t": 0})
        store.create(RET, code, record={"retired_t": 0, "cancelled_t": 0})
        emit(ctx, "ProductListed", {"code": code, "kind": kind, "vintage": vintage, "ref_price_fen": ref_price_fen})


# ----- argument checks -----------------------------------------------------------------


def _period_config(params: Any) -> dict[str, Any]:
    """The checked period config, defaults filled in."""
    fields = _object(params, "params_json", PERIOD_FIELDS, required=("vintages", "products", *DEADLINES))
    vintages = _list(fields["vintages"], "vintages")
    if not vintages:
        raise fail("ERR_INVALID_ARGUMENT", "vintages must list at least one year, found []")
    for i, year in enumerate(vintages):
        positive(year, f"vintages[{i}]")
    products = _list(fields["products"], "products")
    for i, code in enumerate(products):
        check_id(code, f"products[{i}]")
    for name, values in (("vintages", vintages), ("products", products)):
        if len(set(values)) != len(values):
            raise fail("ERR_INVALID_ARGUMENT", f"{name} must not repeat a value, found {values}")
    times: dict[str, dt.datetime] = {}
    for name in DEADLINES:
        if not isinstance(fields[name], str):
            raise fail("ERR_INVALID_ARGUMENT", f"{name} must be an ISO-8601 date or time, found {fields[name]!r}")
        times[name] = parse_time(fields[name], name)
    for earlier, later in (("report_deadline", "verify_deadline"), ("verify_deadline", "surrender_deadline"),
                           ("milestone95_date", "surrender_deadline")):
        if times[earlier] > times[later]:
            raise fail("ERR_INVALID_ARGUMENT", f"{earlier} ({fields[earlier]}) must not be after "
                                               f"{later} ({fields[later]})")
    gas_exempt = fields.get("gas_exempt", True)
    if not isinstance(gas_exempt, bool):
        raise fail("ERR_INVALID_ARGUMENT", f"gas_exempt must be true or false, found {gas_exempt!r}")
    holidays = _list(fields.get("holidays", []), "holidays")
    for i, day in enumerate(holidays):
        _date(day, f"holidays[{i}]")
    return {
        "vintages": vintages,
        "products": products,
        **{name: fields[name] for name in DEADLINES},
        "ccer_cap_pct": _percent(fields.get("ccer_cap_pct", 5), "ccer_cap_pct"),
        "gap_cap_pct": _percent(fields.get("gap_cap_pct", 20), "gap_cap_pct"),
        "gas_exempt": gas_exempt,
        "borrowing": _borrowing(fields.get("borrowing", BORROWING_OFF)),
        "holidays": holidays,
    }


def _borrowing(value: Any) -> dict[str, Any]:
    fields = _object(value, "borrowing", frozenset(BORROWING_OFF), required=("enabled",))
    enabled = fields["enabled"]
    if not isinstance(enabled, bool):
        raise fail("ERR_INVALID_ARGUMENT", f"borrowing.enabled must be true or false, found {enabled!r}")
    from_product = fields.get("from_product", "")
    if enabled or from_product != "":
        check_id(from_product, "borrowing.from_product")
    return {
        "enabled": enabled,
        "min_gap_pct": _percent(fields.get("min_gap_pct", BORROWING_OFF["min_gap_pct"]), "borrowing.min_gap_pct"),
        "max_pct_of_gap": _percent(fields.get("max_pct_of_gap", BORROWING_OFF["max_pct_of_gap"]),
                                   "borrowing.max_pct_of_gap"),
        "from_product": from_product,
    }


def _benchmarks(value: Any) -> dict[str, dict[str, int]]:
    units = _object(value, "benchmarks_json", frozenset(UNIT_TYPES), required=UNIT_TYPES)
    checked: dict[str, dict[str, int]] = {}
    for unit_type in UNIT_TYPES:
        values = _object(units[unit_type], unit_type, frozenset(BENCHMARK_FIELDS), required=BENCHMARK_FIELDS)
        checked[unit_type] = {name: positive(values[name], f"{unit_type}.{name}") for name in BENCHMARK_FIELDS}
    return checked


def _object(value: Any, name: str, known: frozenset[str], required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a JSON object, found {type(value).__name__}")
    unknown = sorted(set(value) - known)
    if unknown:
        raise fail("ERR_INVALID_ARGUMENT",
                   f"{name} has unknown field {unknown[0]!r} (known: {', '.join(sorted(known))})")
    missing = [field for field in required if field not in value]
    if missing:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} needs field {missing[0]!r}")
    return value


def _list(value: Any, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a JSON array, found {value!r}")
    return value


def _percent(value: Any, name: str) -> int:
    if non_negative(value, name) > 100:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a percentage 0-100, found {value}")
    return int(value)


def _date(value: Any, name: str) -> None:
    """A calendar date written YYYY-MM-DD (the form `common.is_working_day` compares)."""
    try:
        valid = isinstance(value, str) and dt.date.fromisoformat(value).isoformat() == value
    except ValueError:
        valid = False
    if not valid:
        raise fail("ERR_INVALID_ARGUMENT", f"{name} must be a date YYYY-MM-DD, found {value!r}")
