"""The default network (network-config/carbon-market.yaml) for integration tests, and
the carbon market's parties on it.

The file is used as it is but for its base port (moved to free ports) and its chaincode
and collection paths (made absolute for the copy). `CarbonMarket` calls the contracts as
the network file's users ("ProvGD/Officer", "Emitter/E1") at the dates the scenarios give,
and checks refusals and the invariants through the client, as an outside party would.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from consortia.carbon.invariants import trading_records, violations
from consortia.carbon.session import Outcome, Refused, Session
from tests.support.processes import cli, free_port_block, kill_all

DEFAULT = Path(__file__).resolve().parents[2] / "network-config" / "carbon-market.yaml"
# Every kind of record the trading chaincode keeps (its query:records).
TRADING_KINDS = ("ACCT", "AUCBID", "BM", "BOOK", "CCERB", "CFG", "DAY", "ENT", "FUND", "FUNDTOTAL", "HOLD", "ISS",
                 "OPENORD", "ORD", "PRODUCT", "PROV", "RET", "SETTLED", "SUR", "TRD")


# Emitting entities the scenario tests add to the network's users, so that each test
# module can open accounts of its own: E10-E29 in Guangdong, E30-E39 in Shandong.
SCENARIO_ENTITIES = {f"E{n}": "GD" if n < 30 else "SD" for n in range(10, 40)}


def write_default_network(folder: Path, *, scenario_entities: bool = False) -> Path:
    """A copy of the default network file in `folder`, on free ports; its path. With
    `scenario_entities`, the emitters' organization also has the users of SCENARIO_ENTITIES."""
    spec = yaml.safe_load(DEFAULT.read_text())
    spec["base_port"] = free_port_block(120)
    if scenario_entities:
        (emitters,) = (org for org in spec["organizations"] if org["msp_id"] == "EmitterMSP")
        emitters["users"] += [{"name": entity, "attributes": {"role": "emitter", "entity_id": entity, "province": p}}
                              for entity, p in SCENARIO_ENTITIES.items()]
    for channel in spec["channels"]:
        for chaincode in channel.get("chaincodes", []):
            chaincode["path"] = str((DEFAULT.parent / chaincode["path"]).resolve())
            if "collections_config" in chaincode:
                chaincode["collections_config"] = str((DEFAULT.parent / chaincode["collections_config"]).resolve())
    path = folder / "carbon-market.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@contextmanager
def running_market(folder: Path) -> Iterator[CarbonMarket]:
    """`consortia network up` of the default network (with SCENARIO_ENTITIES) in `folder`;
    every node is killed when the block ends."""
    write_default_network(folder, scenario_entities=True)
    try:
        up = cli("network", "up", "carbon-market.yaml", cwd=folder, timeout=300)
        assert up.returncode == 0, up.stdout + up.stderr
        market = CarbonMarket(folder)
        try:
            yield market
        finally:
            market.close()
    finally:
        kill_all(folder / "consortia-network")


class CarbonMarket:
    """The parties of a running default network; `cwd` holds its ./consortia-network."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.session = Session.from_profile(cwd / "consortia-network" / "connection.json")

    # --- calls --------------------------------------------------------------------------

    def trading(self, user: str, function: str, *args: object, at: str,
                endorsers: Iterable[str] | None = None) -> Outcome:
        """A committed call of the trading chaincode (fails the test otherwise)."""
        return self._committed(user, "trading", "trading", function, args, at, None, endorsers)

    def mrv(self, user: str, function: str, *args: object, at: str, transient: Mapping[str, bytes] | None = None,
            endorsers: Iterable[str] | None = None) -> Outcome:
        """A committed call of the mrv chaincode (fails the test otherwise)."""
        return self._committed(user, "data-sharing", "mrv", f"mrv:{function}", args, at, transient, endorsers)

    def datashare(self, user: str, function: str, *args: object, at: str,
                  transient: Mapping[str, bytes] | None = None, endorsers: Iterable[str] | None = None) -> Outcome:
        """A committed call of the datashare chaincode ("catalog:publish", ...; fails the test otherwise)."""
        return self._committed(user, "data-sharing", "datashare", function, args, at, transient, endorsers)

    def query(self, user: str, channel: str, chaincode: str, function: str, *args: object) -> Any:
        return self.session.evaluate(user, channel, chaincode, function, *args)

    def refused(self, code: str, user: str, channel: str, chaincode: str, function: str, *args: object, at: str,
                transient: Mapping[str, bytes] | None = None, endorsers: Iterable[str] | None = None,
                naming: str = "") -> str:
        """The message of a call that did not go through with `code` (ERR_... from the
        contract, or a validation code such as ENDORSEMENT_POLICY_FAILURE); checks that
        the trading channel's records are unchanged."""
        before = self.snapshot() if channel == "trading" else None
        with pytest.raises(Refused) as refused:
            self.session.submit(user, channel, chaincode, function, *args, at=at, transient=transient,
                                endorsers=endorsers)
        message = str(refused.value)
        assert refused.value.code == code, message
        assert naming in message, message
        if before is not None:
            assert self.snapshot() == before, f"{function} was refused but changed the trading records"
        return message

    def _committed(self, user: str, channel: str, chaincode: str, function: str, args: tuple[object, ...], at: str,
                   transient: Mapping[str, bytes] | None, endorsers: Iterable[str] | None) -> Outcome:
        try:
            return self.session.submit(user, channel, chaincode, function, *args, at=at, transient=transient,
                                       endorsers=endorsers)
        except Refused as exc:
            pytest.fail(f"{user} {function}{json.dumps([str(a) for a in args])} at {at}: {exc}")

    # --- the trading records, as the regulator reads them ------------------------------------

    def records(self, kind: str) -> Mapping[tuple[str, ...], Any]:
        return trading_records(self.session)(kind)

    def record(self, kind: str, *key: str) -> Any:
        return self.records(kind)[key]

    def snapshot(self) -> dict[str, Mapping[tuple[str, ...], Any]]:
        return {kind: self.records(kind) for kind in TRADING_KINDS}

    def check_invariants(self) -> None:
        """DOMAIN.md §5.4 I1-I5, I7-I9 and I12 over the trading channel's world state."""
        assert violations(self.records) == []

    # --- what the nodes keep ----------------------------------------------------------------

    def peer_dir(self, org_domain_part: str) -> Path:
        """The data folder of the peer of the organization whose domain starts with `org_domain_part`."""
        (found,) = (self.cwd / "consortia-network" / "nodes").glob(f"peer0.{org_domain_part}.*/data")
        return found

    def block_files(self, channel: str) -> list[Path]:
        return sorted((self.cwd / "consortia-network" / "nodes").glob(f"*/data/**/{channel}/blocks.dat"))

    def private_values(self, org_domain_part: str, chaincode: str) -> list[bytes]:
        """The private values of `chaincode`'s collections on that peer's data-sharing ledger."""
        ledger = self.peer_dir(org_domain_part) / "channels" / "data-sharing" / "ledger.db"
        with closing(sqlite3.connect(f"file:{ledger}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT value FROM state WHERE ns LIKE ?", (f"{chaincode}$$p%",)).fetchall()
        return [bytes(value) for (value,) in rows]

    def close(self) -> None:
        self.session.close()
