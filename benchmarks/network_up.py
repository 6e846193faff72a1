"""How long `consortia network up` takes until it reports the network up, from nothing
(crypto material, genesis blocks, nodes, joins, chaincode deployment) and again after
`down` (a restart with the ledgers kept).

    python benchmarks/network_up.py [--runs 3] [FILE ...]

Default files: network-config/minimal.yaml (aim: under 5 s) and
network-config/carbon-market.yaml (aim: under 30 s). Each run uses a fresh temporary
network directory, on the file's own ports. Prints each run and the medians.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from consortia.cli.argtypes import positive_int

REPO = Path(__file__).resolve().parent.parent
DEFAULTS = [REPO / "network-config" / "minimal.yaml", REPO / "network-config" / "carbon-market.yaml"]
CLI = [sys.executable, "-m", "consortia.cli.main", "network"]


def timed(*args: str) -> float:
    started = time.monotonic()
    subprocess.run([*CLI, *args], check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULTS)
    parser.add_argument("--runs", type=positive_int, default=3)
    args = parser.parse_args()
    for file in args.files:
        fresh, again = [], []
        for run in range(1, args.runs + 1):
            directory = tempfile.mkdtemp(prefix="consortia-up-")
            try:
                fresh.append(timed("up", str(file), "--dir", directory))
                timed("down", "--dir", directory)
                again.append(timed("up", "--dir", directory))
            finally:
                subprocess.run([*CLI, "down", "--dir", directory, "--clean"], stdout=subprocess.DEVNULL, check=False)
            print(f"{file.name} run {run}: up {fresh[-1]:.1f} s, up after down {again[-1]:.1f} s", flush=True)
        print(f"{file.name}: median up {statistics.median(fresh):.1f} s, "
              f"up after down {statistics.median(again):.1f} s ({args.runs} runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
