"""The setup the trading chaincode's tests share: the common fixture of DOMAIN.md §8
(period CP2021-2022, benchmark set BM-SAMPLE, products CEA21 and CCER, the entities'
accounts), readers of the fake ledger's records and key-level policies, and callers of a
right MSP with a wrong role."""

from __future__ import annotations

import functools
import json
from typing import Any

from chaincode.shim.stub import ChaincodeStub
from consortia.carbon.invariants import violations
from consortia.policy import parse_signature_policy, signature_policy_bytes
from tests.support.identities import make_org

PERIOD = {"vintages": [2021, 2022], "products": ["CEA21", "CEA22", "CCER"],
          "report_deadline": "2022-03-31T23:59+08:00", "verify_deadline": "2022-06-30T23:59+08:00",
          "surrender_deadline": "2023-12-31T17:00+08:00", "milestone95_date": "2023-11-15"}
BM_SAMPLE = {"COAL_GT300": {"supply_kg_per_mwh": 877, "heat_kg_per_gj": 126},
             "COAL_LE300": {"supply_kg_per_mwh": 979, "heat_kg_per_gj": 126},
             "COAL_UNCONV": {"supply_kg_per_mwh": 1146, "heat_kg_per_gj": 126},
             "GAS": {"supply_kg_per_mwh": 392, "heat_kg_per_gj": 59}}
# entity: (name, province, unit type); entity E<n> has account A-E<n>
ENTITIES = {"E1": ("Dongfang Power", "GD", "COAL_GT300"), "E2": ("Nanhai Thermal", "GD", "COAL_GT300"),
            "E3": ("Pearl River Power", "GD", "COAL_GT300"), "E4": ("Jinan Heat", "SD", "COAL_LE300"),
            "E5": ("Zhuhai Power", "GD", "COAL_GT300"), "E6": ("Qingdao Gas", "SD", "GAS"),
            "E7": ("Shantou Power", "GD", "COAL_LE300")}
SETUP_AT = "2023-04-01T09:00"


def key(kind: str, *parts: str) -> str:
    return ChaincodeStub.create_composite_key(kind, list(parts))


def record(trading: Any, kind: str, *parts: str) -> Any:
    """The committed record under `kind~parts` (KeyError if none)."""
    return json.loads(trading.ledger.state[key(kind, *parts)])


def policy_of(trading: Any, kind: str, *parts: str) -> bytes:
    return bytes(trading.ledger.policies[key(kind, *parts)])


def peers(*msps: str) -> bytes:
    return signature_policy_bytes(parse_signature_policy("AND(" + ", ".join(f"'{m}.peer'" for m in msps) + ")"))


def open_market(trading: Any) -> None:
    """Period CP2021-2022, benchmarks BM-SAMPLE, products CEA21 (4,900 fen) and CCER."""
    trading.call("regulator", "admin:init_period", "CP2021-2022", json.dumps(PERIOD), at=SETUP_AT)
    trading.call("regulator", "admin:set_benchmarks", "BM-SAMPLE", json.dumps(BM_SAMPLE), at=SETUP_AT)
    trading.call("exchange", "admin:list_product", "CEA21", "CEA", 2021, 4900, at=SETUP_AT)
    trading.call("exchange", "admin:list_product", "CCER", "CCER", 0, 3000, at=SETUP_AT)


def open_accounts(trading: Any, *entities: str) -> None:
    for entity in entities:
        name, province, unit_type = ENTITIES[entity]
        trading.call("registry", "registry:open_account", f"A-{entity}", entity, name, province, unit_type,
                     at=SETUP_AT)


@functools.cache
def _strangers() -> dict[str, bytes]:
    orgs = {msp: make_org(msp) for msp in ("MEEMSP", "ProvGDMSP", "RegistryMSP", "ExchangeMSP", "BankMSP")}
    return {
        "mee_setter": orgs["MEEMSP"].identity(attributes={"role": "standard_setter"}).serialize(),
        "gd_dept": orgs["ProvGDMSP"].identity(attributes={"role": "dept_officer", "province": "GD"}).serialize(),
        "gd_as_sd": orgs["ProvGDMSP"].identity(attributes={"role": "province_officer", "province": "SD"}).serialize(),
        "registry_exchanger": orgs["RegistryMSP"].identity(attributes={"role": "exchange_operator"}).serialize(),
        "exchange_registrar": orgs["ExchangeMSP"].identity(attributes={"role": "registry_operator"}).serialize(),
        "bank_no_role": orgs["BankMSP"].identity(attributes={"bank_id": "SB1"}).serialize(),
    }


def with_strangers(trading: Any) -> Any:
    """`trading` whose parties also include callers of a right MSP with a wrong role:
    mee_setter, gd_dept, gd_as_sd (GD's MSP, province attribute SD), registry_exchanger,
    exchange_registrar, bank_no_role."""
    trading.parties = {**trading.parties.creators, **_strangers()}
    return trading


def refused(trading: Any, code: str, who: str, function: str, *args: object, at: str = SETUP_AT,
            naming: str = "") -> str:
    message = str(trading.refused(who, function, *args, at=at))
    assert message.startswith(f"{code}: "), message
    assert naming in message, message
    return message


REF = "mrv:AR~{entity}~2021~v1:" + "ab" * 32


def allocate(trading: Any, entity: str, pre_mwh: int, final_mwh: int | None = None) -> None:
    """`entity`'s 2021 allocation by its province (COAL_GT300 at 877 kg/MWh): PRE on
    `pre_mwh` on 2023-04-20, then FINAL on `final_mwh` on 2023-07-10 if given."""
    officer = "gd" if ENTITIES[entity][1] == "GD" else "sd"
    trading.call(officer, "registry:issue_allocation", entity, 2021, "PRE", "BM-SAMPLE", pre_mwh, 0, 1000,
                 at="2023-04-20T10:00")
    if final_mwh is not None:
        trading.call(officer, "registry:issue_allocation", entity, 2021, "FINAL", "BM-SAMPLE", final_mwh, 0, 1000,
                     at="2023-07-10T10:00")


def records(trading: Any, kind: str) -> dict[tuple[str, ...], Any]:
    """Every committed record of `kind`, by its key's parts."""
    found = {}
    for raw_key, value in trading.ledger.state.items():
        object_type, parts = ChaincodeStub.split_composite_key(raw_key)
        if object_type == kind:
            found[tuple(parts)] = json.loads(value)
    return found


def check_invariants(trading: Any) -> None:
    """DOMAIN.md §5.4 I1-I5, I7-I9 and I12 over the committed records (the checks of
    consortia.carbon.invariants), and the chaincode's own indexes: the order book, the
    open-order index and the auctions' bid index list exactly the open orders of their kind."""
    assert violations(functools.partial(records, trading)) == []
    live = {parts[0]: order for parts, order in records(trading, "ORD").items()
            if order["status"] in ("OPEN", "PARTIAL")}

    # The book holds the open listings, the open-order index every open order.
    assert {parts[2]: entry for parts, entry in records(trading, "BOOK").items()} == {
        order_id: {"price_fen": order["price_fen"], "posted_at": order["posted_at"]}
        for order_id, order in live.items() if order["mode"] == "LISTING"}
    assert set(records(trading, "OPENORD")) == {(order["trade_date"], order_id) for order_id, order in live.items()}

    assert {parts: entry["price_fen"] for parts, entry in records(trading, "AUCBID").items()} == {
        (order["auction_id"], order_id): order["price_fen"] for order_id, order in live.items() if order["mode"] == "BID"}


def before_trading(trading: Any) -> Any:
    """SC-01 up to step 7, as the functions write it: accounts A-E1, A-E2 and A-E3 (E3
    holds nothing), 300,000,000 fen deposited into A-E1, CEA21 allocated PRE and FINAL:
    A-E1 1,754,000 t, A-E2 1,227,800 t; `trading` with strangers, as `with_strangers`."""
    open_market(trading)
    open_accounts(trading, "E1", "E2", "E3")
    trading.call("bank", "settlement:deposit", "A-E1", 300_000_000, "BR-1", at="2023-04-20T09:00")
    allocate(trading, "E1", 1_900_000, 2_000_000)
    allocate(trading, "E2", 1_300_000, 1_400_000)
    return with_strangers(trading)
