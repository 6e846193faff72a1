"""Option types for argparse that refuse bad values with a usage error naming the value,
instead of a traceback (or a zero that fails later, far from the option that set it).
Shared by the CLI's commands and the benchmark scripts."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def _parse(text: str, convert: Callable[[str], float], expected: str) -> float:
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None


def positive_int(text: str) -> int:
    value = int(_parse(text, int, "a whole number"))
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def block_number(text: str) -> int:
    value = int(_parse(text, int, "a block number"))
    if value < 0:
        raise argparse.ArgumentTypeError(f"block numbers start at 0, got {value}")
    return value


def seconds(text: str) -> float:
    value = _parse(text, float, "a number of seconds")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value
