"""Reading DoD files: the model they become, and errors that name file, line and check."""

from __future__ import annotations

from pathlib import Path

import pytest

from loganalyze.detectors import DetectorParam, DetectorSpec
from loganalyze.dod import Severity, load_dod, parse_dod
from loganalyze.dod.model import Filter
from loganalyze.errors import DodError
from loganalyze.exit_codes import ExitCode
from loganalyze.findings import Metric


def spec(name: str, subject: tuple[str, ...], metrics: tuple[str, ...], **kw) -> DetectorSpec:
    return DetectorSpec(
        name=name,
        title=name,
        finds="test detector",
        params=kw.pop("params", ()),
        subject=subject,
        metric_specs=tuple(Metric(m, "count" if m == "count" else "rate") for m in metrics),
        events=kw.pop("events", "count"),
        windowed=kw.pop("windowed", True),
        rank=10,
        sql="SELECT 1",
        path=Path(f"{name}.sql"),
    )


SPECS = [
    spec(
        "http_errors",
        ("path", "status"),
        ("count", "p95_ms"),
        params=(DetectorParam("min_count", "integer", 1, "fewest"),),
    ),
    spec("hot_path_cost", ("route",), ("calls_per_request_mean",), events=None, windowed=False),
]

GOOD = """\
# EventLive: a small DoD
[dod]
title = "fixes"
window = "30s"
requires = { edge_logs = 100 }

[[check]]
id = "P0-1.400s"
title = "400s on registrations drop"
detector = "http_errors"
where = { path = "/rest/v1/registrations", status = [400, 409], route = { not = "x" } }
thresholds = ["drop(count) >= 90%", "max_per_window(count) < 50"]
warn = ["count < 20 for 3 windows"]
min_events = 10
min_windows = 3

[[check]]
id = "P1-2.cost"
detector = "hot_path_cost"
severity = "warn"
window = "1m"
requires = { vercel_logs = 5 }
threshold = "mean(calls_per_request_mean) <= 2"
"""


def parse(text: str):
    return parse_dod(text, path="eventlive.dod.toml", specs=SPECS)


def test_a_valid_file_becomes_the_model() -> None:
    good = GOOD.replace(', route = { not = "x" }', "")
    dod = parse(good)
    assert dod.title == "fixes"
    first, second = dod.checks
    assert first.id == "P0-1.400s" and first.line == 7
    assert first.window == "30s"
    assert first.filters == (
        Filter("path", "eq", ("/rest/v1/registrations",)),
        Filter("status", "in", (400, 409)),
    )
    assert [(t.text, t.severity, t.line) for t in first.thresholds] == [
        ("drop(count) >= 90%", Severity.FAIL, 12),
        ("max_per_window(count) < 50", Severity.FAIL, 12),
        ("count < 20 for 3 windows", Severity.WARN, 13),
    ]
    assert first.requires == {"edge_logs": 100}
    assert (first.min_events, first.min_windows, first.can_fail) == (10, 3, True)
    assert second.window == "1m"
    assert second.requires == {"edge_logs": 100, "vercel_logs": 5}
    assert second.severity is Severity.WARN and not second.can_fail
    assert [t.severity for t in second.thresholds] == [Severity.WARN]


def expect_error(text: str, *fragments: str) -> DodError:
    with pytest.raises(DodError) as info:
        parse(text)
    shown = f"{info.value.message}\nhint: {info.value.hint}"
    for fragment in fragments:
        assert fragment in shown, shown
    assert info.value.exit_code is ExitCode.USAGE
    return info.value


def test_unknown_filter_column_points_at_the_where_line() -> None:
    error = expect_error(
        GOOD,
        "eventlive.dod.toml:11: check 'P0-1.400s': ",
        "detector http_errors has no subject column 'route'",
    )
    assert error.hint and "path, status" in error.hint


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        (
            'detector = "hot_path_cost"',
            'detector = "hot_paths"',
            ("eventlive.dod.toml:19: check 'P1-2.cost': unknown detector 'hot_paths'",),
        ),
        (
            '"max_per_window(count) < 50"',
            '"max_per_window(count) < < 50"',
            ("eventlive.dod.toml:12: check 'P0-1.400s'", "expected a number or a metric"),
        ),
        (
            '"count < 20 for 3 windows"',
            '"errors < 20 for 3 windows"',
            ("eventlive.dod.toml:13:", "has no metric 'errors'", "its metrics: count, p95_ms"),
        ),
        (
            'threshold = "mean(calls_per_request_mean) <= 2"',
            'threshold = "max_per_window(calls_per_request_mean) <= 2"',
            ("eventlive.dod.toml:23:", "needs a windowed detector"),
        ),
        ('severity = "warn"', 'severity = "error"', (":20: check 'P1-2.cost'", "severity must be")),
        (
            "min_windows = 3",
            "min_window = 3",
            (":15: check 'P0-1.400s': unknown key 'min_window'",),
        ),
        (
            "requires = { vercel_logs = 5 }",
            "requires = { vercel = 5 }",
            (":22:", "unknown log table 'vercel'"),
        ),
        ('window = "30s"', 'window = "soon"', ("eventlive.dod.toml:4: [dod]", "not a duration")),
        (
            'id = "P1-2.cost"',
            'id = "P0-1.400s"',
            (":18: check 'P0-1.400s': duplicate id (first used on line 7)",),
        ),
        ('id = "P1-2.cost"\n', "", ("check #2", "every check needs an id")),
        ("min_events = 10", 'min_events = "ten"', ("min_events must be a whole number",)),
    ],
)
def test_errors_name_file_line_and_check(old: str, new: str, fragments: tuple[str, ...]) -> None:
    assert old in GOOD
    expect_error(GOOD.replace(', route = { not = "x" }', "").replace(old, new), *fragments)


@pytest.mark.parametrize(
    ("threshold", "fragment"),
    [
        ("baseline.count > 5", "compares no metric of this run"),
        ("drop(count) >= 50% for 2 windows", "drop() compares whole runs"),
        ("max_per_window(count) < 5 for 2 windows", "already per window"),
    ],
)
def test_thresholds_that_cannot_mean_anything(threshold: str, fragment: str) -> None:
    text = f'[[check]]\nid = "a"\ndetector = "http_errors"\nthresholds = ["{threshold}"]\n'
    expect_error(text, "eventlive.dod.toml:4: check 'a'", fragment)


def test_sustained_needs_a_windowed_detector() -> None:
    text = '[[check]]\nid = "a"\ndetector = "hot_path_cost"\nthreshold = "calls_per_request_mean < 2 for 2 windows"\n'
    expect_error(text, "needs a windowed detector")


def test_min_events_needs_an_events_column() -> None:
    text = '[[check]]\nid = "a"\ndetector = "hot_path_cost"\nmin_events = 5\nthreshold = "calls_per_request_mean < 2"\n'
    expect_error(text, ":4: check 'a'", "has no events column")


def test_detector_params_are_checked_against_the_spec() -> None:
    base = '[[check]]\nid = "a"\ndetector = "http_errors"\nthreshold = "count == 0"\n'
    assert parse(base + "params = { min_count = 5 }\n").checks[0].params == {"min_count": 5}
    expect_error(base + "params = { gap = 5 }\n", ":5: check 'a'", "has no parameter gap")
    expect_error(base + 'params = { min_count = "many" }\n', "not a valid integer")
    expect_error(base + 'params = { window = "1m" }\n', "window is not a detector parameter")


def test_no_thresholds_and_no_checks() -> None:
    expect_error('[[check]]\nid = "a"\ndetector = "http_errors"\n', ":1: check 'a': no thresholds")
    expect_error('[dod]\ntitle = "empty"\n', "eventlive.dod.toml: no checks")


def test_invalid_toml_names_its_line() -> None:
    expect_error(
        '[[check]]\nid = "a"\ndetector = http_errors\n', "eventlive.dod.toml:3: not valid TOML"
    )


def test_unknown_top_level_key() -> None:
    expect_error('[[checks]]\nid = "a"\n', "unknown top-level key(s) checks")


def test_load_dod_reads_a_file_and_reports_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "x.dod.toml"
    path.write_text(GOOD.replace(', route = { not = "x" }', ""), encoding="utf-8")
    assert load_dod(path, specs=SPECS).path == path
    with pytest.raises(DodError, match="DoD file not found"):
        load_dod(tmp_path / "missing.toml", specs=SPECS)


def test_filter_operators() -> None:
    text = (
        '[[check]]\nid = "a"\ndetector = "http_errors"\nthreshold = "count == 0"\n'
        'where = { path = { starts_with = "/rest/", not = ["/rest/v1/x"] }, status = { in = [400] } }\n'
    )
    assert parse(text).checks[0].filters == (
        Filter("path", "starts_with", ("/rest/",)),
        Filter("path", "not_in", ("/rest/v1/x",)),
        Filter("status", "in", (400,)),
    )
    expect_error(text.replace("starts_with", "matches"), "unknown condition 'matches' on path")


def test_unknown_dod_key_points_at_its_line() -> None:
    expect_error(
        GOOD.replace('title = "fixes"', 'name = "fixes"'),
        "eventlive.dod.toml:3: [dod]: unknown key 'name'",
    )
