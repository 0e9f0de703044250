"""Evaluating thresholds over detector frames, and judging whole checks on a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import loganalyze
from loganalyze.detectors import DetectorSpec
from loganalyze.dod import Severity, Verdict, check, parse_dod, parse_threshold
from loganalyze.dod.evaluate import Matching, evaluate_threshold
from loganalyze.dod.model import Threshold
from loganalyze.exit_codes import ExitCode
from loganalyze.findings import Metric

T0 = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

SPEC = DetectorSpec(
    name="http_errors",
    title="HTTP errors",
    finds="test",
    params=(),
    subject=("path", "status"),
    metric_specs=(Metric("count", "count"), Metric("peak_count", "peak"), Metric("p95_ms", "latency")),
    events="count",
    windowed=True,
    rank=10,
    sql="",
    path=Path("http_errors.sql"),
)


def matching(
    rows: list[tuple[int, str, int | None, int, float | None]], minutes: int = 10
) -> Matching:
    """Rows of (minute, path, status, count, p95_ms) over a range of `minutes` minutes."""
    frame = pl.DataFrame(
        {
            "window_start": [T0 + m * MINUTE for m, *_ in rows],
            "path": [r[1] for r in rows],
            "status": [r[2] for r in rows],
            "count": [r[3] for r in rows],
            "peak_count": [r[3] for r in rows],
            "p95_ms": [r[4] for r in rows],
        },
        schema={
            "window_start": pl.Datetime("us", "UTC"),
            "path": pl.String,
            "status": pl.Int32,
            "count": pl.Int64,
            "peak_count": pl.Int64,
            "p95_ms": pl.Float64,
        },
    )
    return Matching(SPEC, frame, MINUTE, T0, T0 + minutes * MINUTE)


# Per-window totals of `count`: minute 0: 30+5=35, 1: 30, 2: 2, 3: 33, 5: 40 (4 has no rows).
ROWS = [
    (0, "/a", 400, 30, 100.0),
    (0, "/b", 409, 5, 200.0),
    (1, "/a", 400, 30, 300.0),
    (2, "/a", 400, 1, 400.0),
    (2, "/b", 409, 1, 500.0),
    (3, "/a", 400, 30, 600.0),
    (3, "/b", 409, 3, 700.0),
    (5, "/a", 400, 40, 900.0),
]


def judge(text: str, current: Matching, baseline: Matching | None = None, severity=Severity.FAIL):
    return evaluate_threshold(Threshold(text, parse_threshold(text), severity), current, baseline)


@pytest.mark.parametrize(
    ("text", "observed", "verdict"),
    [
        ("count == 0", 140, Verdict.FAIL),  # a bare count is the sum of the rows
        ("count <= 140", 140, Verdict.PASS),
        ("p95_ms < 800", 900, Verdict.FAIL),  # a bare latency is the worst row
        ("peak_count <= 40", 40, Verdict.PASS),  # a peak is not summed
        ("sum(p95_ms) == 3700", 3700, Verdict.PASS),
        ("mean(p95_ms) == 462.5", 462.5, Verdict.PASS),
        ("min(count) > 0", 1, Verdict.PASS),
        ("p50(p95_ms) == 450", 450, Verdict.PASS),
        ("max_per_window(count) < 40", 40, Verdict.FAIL),
        ("min_per_window(count) == 0", 0, Verdict.PASS),  # minutes 4, 6-9 had no events
        ("mean_per_window(count) == 14", 14, Verdict.PASS),  # 140 over the 10 windows of the range
        ("max_per_window(p95_ms) == 900", 900, Verdict.PASS),
        ("mean_per_window(p95_ms) == 520", 520, Verdict.PASS),  # (200+300+500+700+900) / 5
        ("count / 10 - 4 == 10", 10, Verdict.PASS),
    ],
)
def test_whole_range_aggregates(text: str, observed: float, verdict: Verdict) -> None:
    result = judge(text, matching(ROWS))
    assert result.observed == pytest.approx(observed)
    assert result.verdict is verdict


def test_no_rows_is_zero_events_but_no_latency() -> None:
    empty = matching([])
    assert judge("count == 0", empty).verdict is Verdict.PASS
    assert judge("max_per_window(count) < 1", empty).verdict is Verdict.PASS
    latency = judge("p95_ms < 800", empty)
    assert latency.verdict is Verdict.INCONCLUSIVE
    assert "no rows for p95_ms" in latency.message


def test_relative_to_a_baseline() -> None:
    current = matching(ROWS)
    baseline = matching([(m, p, s, c * 10, ms) for m, p, s, c, ms in ROWS])  # 1,400 events
    drop = judge("drop(count) >= 90%", current, baseline)
    # (1400 - 140) / 1400 is 0.9 only up to float noise; the boundary must hold.
    assert (drop.verdict, drop.observed, drop.baseline, drop.unit) == (
        Verdict.PASS,
        pytest.approx(0.9),
        1400,
        "%",
    )
    assert judge("drop(count) > 90%", current, baseline).verdict is Verdict.FAIL
    scaled = judge("count <= 0.05 * baseline.count", current, baseline)
    assert (scaled.verdict, scaled.limit, scaled.baseline) == (Verdict.FAIL, 70, 1400)
    zero = judge("drop(count) >= 50%", current, matching([]))
    assert zero.verdict is Verdict.INCONCLUSIVE and "baseline count is 0" in zero.message


def test_sustained_counts_consecutive_windows_only() -> None:
    current = matching(ROWS)
    # count >= 20 in minutes 0, 1, 3, 5: runs of 2, 1, 1 (minute 2 and the empty minute 4 break them).
    two = judge("count < 20 for 2 windows", current)
    assert (two.verdict, two.observed, two.limit, two.unit) == (Verdict.FAIL, 2, 2, "windows")
    assert "starting 2026-03-14T09:00:00Z (worst 35)" in two.message
    assert judge("count < 20 for 3 windows", current).verdict is Verdict.PASS
    # Per-window p95 (worst row): 200, 300, 500, 700, 900 → > 400 from minute 2 on, but minute 4 is missing.
    assert judge("p95_ms <= 400 for 3 windows", current).verdict is Verdict.PASS
    assert judge("p95_ms <= 400 for 2 windows", current).observed == 2


def test_sustained_against_a_baseline_scalar() -> None:
    current = matching(ROWS)
    baseline = matching([(m, "/a", 400, 10, None) for m in range(10)])  # mean 10 per window
    result = judge("count <= 2 * baseline.mean_per_window(count) for 2 windows", current, baseline)
    assert (result.verdict, result.observed, result.baseline) == (Verdict.FAIL, 2, 10)


def test_warn_severity_breaks_as_warn() -> None:
    assert judge("count == 0", matching(ROWS), severity=Severity.WARN).verdict is Verdict.WARN


# --------------------------------------------------------------------------- whole checks


UNDEFINED_COLUMN = ("42703", "column registrations.id does not exist")
UNDEFINED_TABLE = ("42P01", 'relation "webinars" does not exist')


def insert_errors(con, start: datetime, n: int, every_s: int, error=UNDEFINED_COLUMN) -> None:
    con.execute(
        """INSERT INTO postgres_logs (id, ts, severity, sqlstate, message)
           SELECT 'pg-' || $start::VARCHAR || i, $start + i * to_seconds($every), 'ERROR',
                  $sqlstate, $message
           FROM range($n) AS t(i)""",
        {"start": start, "every": every_s, "n": n, "sqlstate": error[0], "message": error[1]},
    )


def insert_traffic(con, start: datetime, n: int) -> None:
    con.execute(
        """INSERT INTO edge_logs (id, ts, method, path, status)
           SELECT 'edge-' || i, $start + i * INTERVAL 1 SECOND, 'GET', '/rest/v1/webinars', 200
           FROM range($n) AS t(i)""",
        {"start": start, "n": n},
    )


DOD = """\
[dod]
requires = { edge_logs = 600 }

[[check]]
id = "P0-1.none"
detector = "schema_errors"
where = { relation = "registrations", column_name = "id" }
thresholds = ["count == 0"]

[[check]]
id = "P0-1.drop"
detector = "schema_errors"
where = { relation = "registrations" }
thresholds = ["drop(count) >= 90%"]

[[check]]
id = "P2.other-table"
detector = "schema_errors"
severity = "warn"
where = { relation = "webinars" }
thresholds = ["count == 0"]
"""


@pytest.fixture
def incident(con):
    insert_traffic(con, T0, 900)
    insert_errors(con, T0, 120, 5)  # 120 errors over 10 minutes
    return con


def test_failing_run(incident) -> None:
    report = check(incident, parse_dod(DOD))
    verdicts = {r.check.id: r.verdict for r in report.results}
    assert verdicts == {
        "P0-1.none": Verdict.FAIL,
        "P0-1.drop": Verdict.SKIPPED,
        "P2.other-table": Verdict.PASS,
    }
    first = report.results[0]
    assert (first.events, first.windows, first.thresholds[0].observed) == (120, 10, 120)
    assert report.exit_code is ExitCode.CHECKS_FAILED


def test_fixed_run_against_the_incident_as_baseline(incident) -> None:
    fixed = loganalyze.connect()
    insert_traffic(fixed, T0, 900)
    insert_errors(fixed, T0, 6, 90)
    report = check(fixed, parse_dod(DOD), baseline=incident)
    drop = report.results[1].thresholds[0]
    assert (drop.verdict, drop.observed, drop.baseline) == (Verdict.PASS, pytest.approx(0.95), 120)
    assert report.results[0].verdict is Verdict.FAIL  # six errors remain
    assert report.exit_code is ExitCode.CHECKS_FAILED


def test_an_empty_database_is_inconclusive_never_green(con) -> None:
    report = check(con, parse_dod(DOD))
    assert report.results[0].verdict is Verdict.INCONCLUSIVE
    assert "no events" in report.results[0].message
    assert report.exit_code is ExitCode.INCONCLUSIVE


def test_required_rows_guard_a_zero_count(con) -> None:
    insert_traffic(con, T0, 300)  # fewer than the 600 the DoD requires
    report = check(con, parse_dod(DOD))
    result = report.results[0]
    assert result.verdict is Verdict.INCONCLUSIVE
    assert result.message == "edge_logs has 300 rows in range, the check needs 600"
    # Warn-severity checks never decide the exit code, inconclusive or not.
    assert report.results[2].verdict is Verdict.INCONCLUSIVE
    assert report.exit_code is ExitCode.INCONCLUSIVE


def test_min_events_and_since_until(incident) -> None:
    dod = parse_dod(
        '[[check]]\nid = "a"\ndetector = "schema_errors"\nmin_events = 50\nmin_windows = 2\n'
        'thresholds = ["max_per_window(count) <= 12"]\n'
    )
    whole = check(incident, dod).results[0]
    assert (whole.verdict, whole.thresholds[0].observed) == (Verdict.PASS, 12)
    late = check(incident, dod, since=T0 + 8 * MINUTE).results[0]  # two minutes: 24 errors
    assert late.verdict is Verdict.INCONCLUSIVE
    assert late.message == "24 matching events, min_events is 50"
    assert late.thresholds[0].observed == 12  # still shown


def test_a_warn_only_failure_passes_the_run(con) -> None:
    insert_traffic(con, T0, 900)
    insert_errors(con, T0, 3, 60, UNDEFINED_TABLE)
    report = check(con, parse_dod(DOD))
    assert [r.verdict for r in report.results] == [Verdict.PASS, Verdict.SKIPPED, Verdict.WARN]
    assert report.exit_code is ExitCode.OK
    assert report.summary() == "passed: 1 warn, 1 skipped, 1 pass"


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ('{ relation = "registrations" }', 120),
        ("{ sqlstate = 42703 }", 120),  # a number in the file still matches a text column
        ('{ message = { contains = "registrations.id" } }', 120),
        ('{ relation = { not = "registrations" } }', 4),
        ('{ relation = ["webinars", "polls"] }', 4),
        ('{ relation = { starts_with = "regis" }, column_name = "webinar_id" }', 0),
    ],
)
def test_where_selects_subject_rows(incident, where: str, expected: int) -> None:
    insert_errors(incident, T0 + timedelta(seconds=30), 4, 60, UNDEFINED_TABLE)
    dod = parse_dod(
        f'[[check]]\nid = "a"\ndetector = "schema_errors"\nwhere = {where}\nthreshold = "count == 0"\n'
    )
    assert check(incident, dod).results[0].events == expected


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.integers(0, 40)),  # None: a window without rows
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 5),
)
def test_sustained_runs_match_a_plain_reading(per_window: list[int | None], needed: int) -> None:
    rows = [(m, "/a", 400, c, None) for m, c in enumerate(per_window) if c is not None]
    # The longest stretch of adjacent windows with count >= 20, read window by window.
    longest = run = 0
    for value in per_window:
        run = run + 1 if value is not None and value >= 20 else 0
        longest = max(longest, run)
    result = judge(f"count < 20 for {needed} windows", matching(rows, minutes=len(per_window)))
    assert result.observed == longest
    assert result.verdict is (Verdict.FAIL if longest >= needed else Verdict.PASS)


def test_checks_that_spell_the_same_run_share_it(incident, monkeypatch) -> None:
    import loganalyze.analysis as analysis
    import loganalyze.detectors as detectors

    calls = []
    real = analysis.execute
    monkeypatch.setattr(analysis, "execute", lambda *a: calls.append(a[2]) or real(*a))
    default = detectors.get_detector("schema_errors").param("match_tolerance").default
    dod = parse_dod(
        '[[check]]\nid = "a"\ndetector = "schema_errors"\nthreshold = "count > 0"\n'
        '[[check]]\nid = "b"\ndetector = "schema_errors"\nwindow = "60s"\n'
        f'params = {{ match_tolerance = "{default.total_seconds():g}s" }}\n'
        'threshold = "count > 0"\n'
        '[[check]]\nid = "c"\ndetector = "schema_errors"\nwindow = "5m"\nthreshold = "count > 0"\n'
    )
    report = check(incident, dod)
    assert [r.verdict for r in report.results] == [Verdict.PASS] * 3
    assert [c["window"] for c in calls] == [MINUTE, 5 * MINUTE]
