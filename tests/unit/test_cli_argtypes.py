"""Option types shared by the CLI and the benchmarks: good values pass, bad ones become
usage errors that name the value."""

from __future__ import annotations

import argparse
from collections.abc import Callable

import pytest

from consortia.cli.argtypes import block_number, positive_int, seconds

pytestmark = pytest.mark.unit


def test_good_values_are_converted() -> None:
    assert positive_int("1") == 1
    assert positive_int("64") == 64
    assert block_number("0") == 0
    assert seconds("0.5") == 0.5


@pytest.mark.parametrize(
    ("kind", "text", "problem"),
    [(positive_int, "0", "expected 1 or more, got 0"),
     (positive_int, "-3", "expected 1 or more, got -3"),
     (positive_int, "2.5", "expected a whole number, got '2.5'"),
     (block_number, "-1", "block numbers start at 0, got -1"),
     (block_number, "last", "expected a block number, got 'last'"),
     (seconds, "0", "expected a positive number of seconds, got '0'"),
     (seconds, "nan", "expected a positive number of seconds, got 'nan'"),
     (seconds, "soon", "expected a number of seconds, got 'soon'")],
)
def test_bad_values_are_refused_by_name(kind: Callable[[str], float], text: str, problem: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        kind(text)
    assert str(caught.value) == problem


def test_a_parser_reports_the_option_and_exits(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--runs", type=positive_int, default=3)
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--runs", "0"])
    assert exited.value.code == 2
    assert "argument --runs: expected 1 or more, got 0" in capsys.readouterr().err
