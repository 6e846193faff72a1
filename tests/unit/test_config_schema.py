"""The YAML-to-dataclass loader: what it decodes, and how it reports what it cannot.

`consortia.config.schema.load` turns a YAML file into a tree of frozen dataclasses.
Every problem it finds is reported, all at once and sorted by line, as
`FILE:LINE path.to[2].field: what was expected, what was found`. These tests use small
schemas of their own so that each rule of the loader is seen in isolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consortia.config.schema import ByteSize, Duration, Problems, load
from consortia.errors import ConfigError

pytestmark = pytest.mark.unit

SOURCE = "conf.yaml"


@dataclass(frozen=True)
class Listener:
    host: str
    port: int = 7051


@dataclass(frozen=True)
class Settings:
    name: str
    workers: int = 4
    verbose: bool = False
    timeout: Duration = Duration(2000)
    max_size: ByteSize = ByteSize(1024)
    mode: Literal["solo", "raft"] = "solo"
    tags: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    limit: int | None = None
    listener: Listener | None = None
    listeners: list[Listener] = field(default_factory=list)
    data_dir: Path | None = None


def load_settings(text: str, path: str | Path = SOURCE) -> Settings:
    value, _ = load(path, Settings, text=text)
    return value


def problems_of(text: str, path: str | Path = SOURCE) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(path, Settings, text=text)
    return info.value.problems


# --- what decodes -------------------------------------------------------------------


def test_every_supported_type_decodes() -> None:
    text = """\
name: ledger
workers: 16
verbose: true
timeout: 5s
max_size: 10 MB
mode: raft
tags: [a, b]
labels:
  zone: east
  tier: gold
limit: 3
listener: {host: peer0, port: 9051}
listeners:
  - host: one
  - host: two
    port: 8000
"""
    assert load_settings(text) == Settings(
        name="ledger",
        workers=16,
        verbose=True,
        timeout=Duration(5000),
        max_size=ByteSize(10 * 1024 * 1024),
        mode="raft",
        tags=["a", "b"],
        labels={"zone": "east", "tier": "gold"},
        limit=3,
        listener=Listener(host="peer0", port=9051),
        listeners=[Listener(host="one"), Listener(host="two", port=8000)],
    )


def test_defaults_fill_what_the_file_leaves_out() -> None:
    settings = load_settings("name: ledger\n")
    assert settings == Settings(name="ledger")
    assert (settings.workers, settings.verbose, settings.timeout, settings.max_size) == (4, False, 2000, 1024)
    assert settings.tags == [] and settings.labels == {} and settings.listener is None


def test_nested_defaults_apply_inside_lists() -> None:
    settings = load_settings("name: x\nlisteners:\n  - host: a\n")
    assert settings.listeners == [Listener(host="a", port=7051)]


def test_null_is_accepted_only_where_the_field_is_optional() -> None:
    settings = load_settings("name: x\nlimit: ~\nlistener: null\n")
    assert settings.limit is None and settings.listener is None
    assert problems_of("name: x\nworkers: ~\n") == [f"{SOURCE}:2 workers: expected an integer, found nothing (null)"]


@pytest.mark.parametrize(
    ("written", "millis"),
    [("2s", 2000), ("500ms", 500), ("1m", 60_000), ("1h", 3_600_000), ("250", 250), ("'250'", 250), ("0", 0)],
)
def test_durations(written: str, millis: int) -> None:
    timeout = load_settings(f"name: x\ntimeout: {written}\n").timeout
    assert timeout == millis
    assert isinstance(timeout, Duration)


@pytest.mark.parametrize(
    ("written", "size"),
    [
        ("10 MB", 10 * 1024**2),
        ("512 KB", 512 * 1024),
        ("99 MiB", 99 * 1024**2),
        ("2GB", 2 * 1024**3),
        ("7 B", 7),
        ("4096", 4096),
    ],
)
def test_byte_sizes(written: str, size: int) -> None:
    max_size = load_settings(f"name: x\nmax_size: {written}\n").max_size
    assert max_size == size
    assert isinstance(max_size, ByteSize)


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from([("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]))
def test_duration_text_is_number_times_unit(amount: int, unit: tuple[str, int]) -> None:
    suffix, factor = unit
    assert Duration.parse(f"{amount}{suffix}") == amount * factor
    assert Duration.parse(f" {amount} {suffix} ") == amount * factor


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["", "b", "kb", "KiB", "MB", "mib", "GB", "GiB"]))
def test_byte_size_units_are_case_insensitive_powers_of_1024(amount: int, unit: str) -> None:
    factor = {"": 1, "B": 1, "KB": 1024, "KIB": 1024, "MB": 1024**2, "MIB": 1024**2, "GB": 1024**3, "GIB": 1024**3}
    assert ByteSize.parse(f"{amount} {unit}") == amount * factor[unit.upper()]


@pytest.mark.parametrize("written", ["1.0", "yes", "no", "off", "007", "1e3", "2024-01-01", "0x1F", "true"])
def test_yaml_1_1_scalars_for_a_string_field_keep_the_text_written(written: str) -> None:
    settings = load_settings(f"name: {written}\ntags: [{written}]\nlabels: {{v: {written}}}\n")
    assert settings.name == written
    assert settings.tags == [written]
    assert settings.labels == {"v": written}


def test_path_field_resolves_against_the_file_folder(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "node.yaml"
    settings = load_settings("name: x\ndata_dir: ../data/ledger\n", path=config)
    assert settings.data_dir == (tmp_path / "data" / "ledger").resolve()


def test_path_field_keeps_an_absolute_path(tmp_path: Path) -> None:
    settings = load_settings(f"name: x\ndata_dir: {tmp_path / 'abs'}\n", path=tmp_path / "sub" / "c.yaml")
    assert settings.data_dir == (tmp_path / "abs").resolve()


def test_load_reads_the_file_when_no_text_is_given(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("name: from-disk\nworkers: 2\n")
    value, problems = load(config, Settings)
    assert value == Settings(name="from-disk", workers=2)
    assert problems.items == []


# --- what is reported ---------------------------------------------------------------


def test_unknown_key_suggests_the_closest_field() -> None:
    assert problems_of("name: x\nworkres: 2\n") == [f"{SOURCE}:2 workres: unknown field; did you mean 'workers'?"]


def test_unknown_key_without_a_close_match_lists_the_known_fields() -> None:
    (problem,) = problems_of("name: x\n\nzzz: 1\n")
    assert problem == (
        f"{SOURCE}:3 zzz: unknown field (known: name, workers, verbose, timeout, max_size, mode, "
        "tags, labels, limit, listener, listeners, data_dir)"
    )


def test_unknown_key_in_a_nested_mapping_names_its_path() -> None:
    text = "name: x\nlisteners:\n  - host: a\n  - host: b\n    prot: 1\n"
    assert problems_of(text) == [f"{SOURCE}:5 listeners[1].prot: unknown field; did you mean 'port'?"]


def test_missing_required_field_at_the_top_points_at_the_document_start() -> None:
    assert problems_of("# settings\n\nworkers: 2\n") == [f"{SOURCE}:3 name: is required"]


def test_missing_required_field_in_a_list_item_points_at_the_item() -> None:
    text = "name: x\nlisteners:\n  - host: a\n  - port: 1\n"
    assert problems_of(text) == [f"{SOURCE}:4 listeners[1].host: is required"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("workers: many", "workers: expected an integer, found a string 'many'"),
        ("workers: true", "workers: expected an integer, found a boolean 'true'"),
        ("workers: 1.5", "workers: expected an integer, found a number '1.5'"),
        ("workers: [1]", "workers: expected an integer, found a list"),
        ("verbose: 1", "verbose: expected true or false, found an integer '1'"),
        ("verbose: maybe", "verbose: expected true or false, found a string 'maybe'"),
        ("labels: [a, b]", "labels: expected a mapping, found a list"),
        ("listener: [a, b]", "listener: expected a mapping, found a list"),
        ("tags: {a: b}", "tags: expected a list, found a mapping"),
        ("tags: single", "tags: expected a list, found a string 'single'"),
    ],
)
def test_wrong_type(line: str, expected: str) -> None:
    assert problems_of(f"# first line\nname: x\n{line}\n") == [f"{SOURCE}:3 {expected}"]


def test_mapping_for_a_string_field() -> None:
    assert problems_of("workers: 1\nname: {first: a}\n") == [f"{SOURCE}:2 name: expected a string, found a mapping"]


def test_wrong_type_of_a_list_item_names_its_index() -> None:
    text = "name: x\ntags:\n  - a\n  - [nested]\n"
    assert problems_of(text) == [f"{SOURCE}:4 tags[1]: expected a string, found a list"]


def test_duplicate_key_in_a_dict_field_reports_the_second_occurrence() -> None:
    text = "name: x\nlabels:\n  zone: east\n  tier: gold\n  zone: west\n"
    assert problems_of(text) == [f"{SOURCE}:5 labels.zone: appears twice"]


def test_duplicate_field_of_a_dataclass_reports_the_second_occurrence() -> None:
    text = "name: x\nworkers: 1\nlistener:\n  host: a\n  host: b\nworkers: 2\n"
    assert problems_of(text) == [f"{SOURCE}:5 listener.host: appears twice", f"{SOURCE}:6 workers: appears twice"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("timeout: 2 days", "timeout: expected a duration such as 2s, 500ms or 1m, found '2 days'"),
        ("timeout: 1.5s", "timeout: expected a duration such as 2s, 500ms or 1m, found '1.5s'"),
        ("timeout: soon", "timeout: expected a duration such as 2s, 500ms or 1m, found 'soon'"),
        ("timeout: yes", "timeout: expected a duration such as 2s, 500ms or 1m, found 'yes'"),
        ("timeout: -1", "timeout: expected a duration such as 2s, 500ms or 1m, found '-1'"),
        ("max_size: 10 XB", "max_size: expected a size such as 10 MB, 512 KB or a number of bytes, found '10 XB'"),
        ("max_size: 1.5 MB", "max_size: expected a size such as 10 MB, 512 KB or a number of bytes, found '1.5 MB'"),
        ("max_size: -5", "max_size: expected a size such as 10 MB, 512 KB or a number of bytes, found '-5'"),
    ],
)
def test_bad_duration_or_size(line: str, expected: str) -> None:
    assert problems_of(f"name: x\n{line}\n") == [f"{SOURCE}:2 {expected}"]


def test_literal_value_not_allowed() -> None:
    assert problems_of("name: x\nmode: pbft\n") == [f"{SOURCE}:2 mode: expected one of solo, raft, found 'pbft'"]


def test_yaml_syntax_error_reports_its_line() -> None:
    text = "name: x\nworkers: 2\n  verbose: true\nmode: solo\n"
    assert problems_of(text) == [f"{SOURCE}:3 not valid YAML: mapping values are not allowed here"]


def test_unclosed_flow_list_is_a_syntax_error() -> None:
    (problem,) = problems_of("name: x\ntags: [a, b\nworkers: 2\n")
    assert problem.startswith(f"{SOURCE}:") and " not valid YAML: " in problem


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(text: str) -> None:
    assert problems_of(text) == [f"{SOURCE}:1 the file is empty"]


def test_document_that_is_not_a_mapping() -> None:
    assert problems_of("- a\n- b\n") == [f"{SOURCE}:1 expected a mapping, found a list"]


def test_missing_file_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    with pytest.raises(ConfigError) as info:
        load(missing, Settings)
    assert info.value.problems == [f"{missing}: cannot read: No such file or directory"]


def test_folder_given_as_file_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, Settings)
    assert info.value.problems == [f"{tmp_path}: cannot read: Is a directory"]


def test_every_problem_is_reported_sorted_by_line() -> None:
    text = """\
workers: many
listener:
  port: abc
verbose: perhaps
mode: pbft
tags: {a: 1}
colour: red
"""
    # Found in this order: workers(1), listener.port(3), listener.host(2), verbose(4),
    # mode(5), tags(6), colour(7), name(1, at the end); reported by line.
    assert problems_of(text) == [
        f"{SOURCE}:1 workers: expected an integer, found a string 'many'",
        f"{SOURCE}:1 name: is required",
        f"{SOURCE}:2 listener.host: is required",
        f"{SOURCE}:3 listener.port: expected an integer, found a string 'abc'",
        f"{SOURCE}:4 verbose: expected true or false, found a string 'perhaps'",
        f"{SOURCE}:5 mode: expected one of solo, raft, found 'pbft'",
        f"{SOURCE}:6 tags: expected a list, found a mapping",
        f"{SOURCE}:7 colour: unknown field (known: name, workers, verbose, timeout, max_size, mode, "
        "tags, labels, limit, listener, listeners, data_dir)",
    ]


def test_error_names_the_file_as_given(tmp_path: Path) -> None:
    config = tmp_path / "deep" / "node.yaml"
    assert problems_of("name: x\nworkers: no\n", path=config) == [
        f"{config}:2 workers: expected an integer, found a boolean 'no'"
    ]


# --- semantic checks report through the same Problems -------------------------------


def test_validate_runs_on_the_built_value_and_reports_by_path() -> None:
    def even_workers(settings: Settings, problems: Problems) -> None:
        if settings.workers % 2:
            problems.add("workers", f"must be even, found {settings.workers}")
        for index, listener in enumerate(settings.listeners):
            if listener.port < 1024:
                # `port` is not written for this item: the item's own line is used.
                problems.add(f"listeners[{index}].port", f"must be at least 1024, found {listener.port}")

    text = "name: x\nlisteners:\n  - host: a\n    port: 80\n  - host: b\nworkers: 3\n"
    with pytest.raises(ConfigError) as info:
        load(SOURCE, Settings, even_workers, text=text)
    assert info.value.problems == [
        f"{SOURCE}:4 listeners[0].port: must be at least 1024, found 80",
        f"{SOURCE}:6 workers: must be even, found 3",
    ]

    def unwritten_default(settings: Settings, problems: Problems) -> None:
        problems.add("listeners[1].port", "checked")

    with pytest.raises(ConfigError) as info:
        load(SOURCE, Settings, unwritten_default, text=text)
    assert info.value.problems == [f"{SOURCE}:5 listeners[1].port: checked"]


def test_validate_is_skipped_when_the_structure_is_broken() -> None:
    calls: list[Settings] = []

    def record(settings: Settings, problems: Problems) -> None:
        calls.append(settings)

    with pytest.raises(ConfigError):
        load(SOURCE, Settings, record, text="name: x\nworkers: many\n")
    assert calls == []
    load(SOURCE, Settings, record, text="name: x\n")
    assert calls == [Settings(name="x")]


def test_problems_line_of_falls_back_to_the_nearest_ancestor() -> None:
    problems = Problems("f.yaml")
    problems.lines.update({"": 1, "a": 2, "a.b": 3, "a.b[0]": 4})
    assert problems.line_of("a.b[0].c.d") == 4
    assert problems.line_of("a.b[1]") == 3
    assert problems.line_of("a.x") == 2
    assert problems.line_of("zzz") == 1
    problems.add("a.b[0].c", "second")
    problems.add("a", "first")
    problems.add("", "whole file", line=9)
    with pytest.raises(ConfigError) as info:
        problems.raise_if_any()
    assert info.value.problems == ["f.yaml:2 a: first", "f.yaml:4 a.b[0].c: second", "f.yaml:9 whole file"]


def test_no_problems_raises_nothing() -> None:
    Problems("f.yaml").raise_if_any()
