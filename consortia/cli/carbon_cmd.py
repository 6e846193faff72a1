"""`consortia demo compliance-cycle` and `consortia carbon reconcile`: the carbon market
(DOMAIN.md) on a network started with `consortia network up`.

    consortia network up && consortia demo compliance-cycle
    consortia carbon reconcile [--json]

Both use the network of ./consortia-network (or $CONSORTIA_NETWORK_DIR, or --dir) and
its users' identities, through the connection profile `network up` wrote.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from consortia.carbon import cycle
from consortia.carbon.reconcile import reconcile
from consortia.carbon.session import Session
from consortia.cli.network_cmd import dir_arg, network_dir
from consortia.errors import ConsortiaError
from consortia.network.layout import require_state


def register(nouns: Any) -> None:
    demo = nouns.add_parser("demo", help="run a scenario of the carbon market on the running network")
    demos = demo.add_subparsers(dest="demo", metavar="SCENARIO", required=True)
    compliance = demos.add_parser(
        "compliance-cycle",
        help="the full compliance cycle of the 2021 vintage (DOMAIN.md SC-01): registration to compliance",
    )
    dir_arg(compliance)
    compliance.set_defaults(handler=run_compliance_cycle)

    carbon = nouns.add_parser("carbon", help="checks of the carbon market's records on the running network")
    checks = carbon.add_subparsers(dest="check", metavar="CHECK", required=True)
    link = checks.add_parser(
        "reconcile",
        help="check that every obligation on `trading` rests on a VERIFIED, current report on `data-sharing`",
    )
    dir_arg(link)
    link.add_argument("--json", action="store_true", help="print every obligation checked as JSON")
    link.set_defaults(handler=run_reconcile)


def _session(args: argparse.Namespace) -> Session:
    dirs = network_dir(args)
    state = require_state(dirs)
    if not state.ready:
        raise ConsortiaError(f"the network in {dirs.root} is not ready (its `network up` did not finish); "
                             "run `consortia network up` again")
    return Session.from_profile(dirs.profile)


def run_compliance_cycle(args: argparse.Namespace) -> int:
    with _session(args) as session:
        summary = cycle.run(session, lambda line: print(line, flush=True))
    broken = summary.violations or summary.mismatches or not all(p.conserved for p in summary.products)
    return 1 if broken or not summary.funds.conserved else 0


def run_reconcile(args: argparse.Namespace) -> int:
    with _session(args) as session:
        links = reconcile(session)
    if args.json:
        print(json.dumps([{"entity_id": link.entity_id, "vintage": link.vintage, "report_ref": link.report_ref,
                           "matches": link.matches, "problem": link.problem} for link in links], indent=2))
    else:
        for link in links:
            print(f"{link.entity_id} {link.vintage}  {'ok' if link.matches else 'MISMATCH'}  "
                  f"{link.problem or link.report_ref}")
        bad = sum(not link.matches for link in links)
        print(f"{len(links)} obligation(s) checked, {bad} mismatch(es)")
    return 1 if any(not link.matches for link in links) else 0
