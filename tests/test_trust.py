"""Never silently wrong: no verdict without data, caveats that travel with results, the
baseline from a range of one database, and report figures that are the detectors' own."""

from __future__ import annotations

import json
from datetime import timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

import loganalyze
from loganalyze.analysis import Analysis, detect, run_detector
from loganalyze.cli import app
from loganalyze.detectors import list_detectors
from loganalyze.dod import Verdict, check, load_dod, parse_dod
from loganalyze.exit_codes import ExitCode
from loganalyze.ingest import ingest
from loganalyze.report import build_report, render_json, render_markdown
from loganalyze.store import LOG_TABLES, quote_ident
from loganalyze.timeparse import resolve_range

from .conftest import SAMPLE_LOGS

INCIDENT = SAMPLE_LOGS / "eventlive-incident"
FIXED = SAMPLE_LOGS / "eventlive-fixed"
DOD_FILE = SAMPLE_LOGS / "eventlive.dod.toml"
HTTP_DOD = """
[[check]]
id = "no-409-storm"
detector = "status_storms"
where = { status_class = "409" }
threshold = "count == 0"
[[check]]
id = "auth-fast"
detector = "auth_user_latency"
threshold = "p95_ms < 800"
"""
runner = CliRunner()


@pytest.fixture(scope="module")
def incident():
    assert (INCIDENT / "manifest.json").is_file(), f"{INCIDENT} is part of the repository"
    con = loganalyze.connect()
    ingest([INCIDENT], con)
    yield con
    con.close()


# --------------------------------------------------------------------------- no data


def test_http_checks_on_postgres_only_logs_are_inconclusive(tmp_path):
    """The replay's Postgres log alone: no gateway rows, so 'no 409 storm' proves nothing."""
    dod = tmp_path / "http.dod.toml"
    dod.write_text(HTTP_DOD, encoding="utf-8")
    result = runner.invoke(
        app, ["check", str(dod), str(INCIDENT / "postgres_logs.drain.ndjson.gz")]
    )
    assert result.exit_code == ExitCode.INCONCLUSIVE, result.output
    assert "edge_logs" in result.output and "vercel_logs" in result.output
    assert "PASS" not in result.output.upper().replace("PASSES", "")


def test_the_same_checks_are_judged_when_the_gateway_log_is_there(incident):
    report = check(incident, parse_dod(HTTP_DOD))
    assert {r.check.id: r.verdict for r in report.results} == {
        "no-409-storm": Verdict.FAIL,
        "auth-fast": Verdict.FAIL,
    }


def test_a_detector_without_its_input_says_which(tmp_path):
    con = loganalyze.connect()
    ingest([INCIDENT / "postgres_logs.drain.ndjson.gz"], con)
    storms = detect(con, "status_storms")
    assert not storms.conclusive
    assert storms.missing == ("edge_logs or vercel_logs: none has rows in the range",)
    schema = detect(con, "schema_errors")
    assert schema.conclusive and schema.total("count") > 0
    report = build_report(con, tz="UTC")
    assert "status_storms" in {f.name for f in report.unjudged}
    assert "status_storms" not in {f.name for f in report.quiet}
    markdown = render_markdown(report)
    assert "Not judged:" in markdown and "status_storms (edge_logs or" in markdown
    data = json.loads(render_json(report))
    by_name = {d["name"]: d for d in data["detectors"]}
    assert by_name["status_storms"]["conclusive"] is False
    assert by_name["status_storms"]["missing_inputs"]


def test_results_that_need_jwt_subjects_carry_a_caveat_without_them(incident):
    """Self-hosted Kong lines carry no JWT subject: per-participant rates cannot be
    counted, and every output says so instead of presenting a number."""
    con = loganalyze.connect()
    _shifted_copy(con, incident, timedelta(0), "")
    con.execute("UPDATE edge_logs SET user_id = NULL")
    hot = detect(con, "hot_path_cost")
    assert any("JWT subjects" in c for c in hot.caveats)
    assert not detect(incident, "hot_path_cost").caveats
    report = build_report(con, tz="UTC")
    assert "Caveat:** no JWT subjects" in render_markdown(report)
    data = json.loads(render_json(report))
    caveats = {d["name"]: d["caveats"] for d in data["detectors"]}
    assert caveats["hot_path_cost"] and caveats["error_amplification"]
    assert caveats["schema_errors"] == []


# --------------------------------------------------------------------------- baseline by range


def _shifted_copy(into, source, shift: timedelta, suffix: str) -> None:
    for table in LOG_TABLES:
        frame = source.cursor().sql(
            "SELECT * REPLACE (ts + $shift AS ts, id || $suffix AS id) FROM " + quote_ident(table),
            params={"shift": shift, "suffix": suffix},
        ).to_arrow_table()
        into.register("source_rows", frame)
        into.execute("INSERT INTO " + quote_ident(table) + " SELECT * FROM source_rows")
        into.unregister("source_rows")


def test_before_and_after_from_one_database_judge_as_split_files(incident):
    """The fix deployed two hours later, in the same database: judged by time ranges, the
    verdicts equal those of the two replays in separate databases."""
    fixed = loganalyze.connect()
    ingest([FIXED], fixed)
    dod = load_dod(DOD_FILE)
    split = check(fixed, dod, incident)
    shift = timedelta(hours=2)
    one = loganalyze.connect()
    _shifted_copy(one, incident, timedelta(0), "")
    _shifted_copy(one, fixed, shift, "~after")
    before, after = resolve_range(incident), resolve_range(fixed)
    ranged = check(
        one,
        dod,
        since=after.start + shift,
        until=after.end + shift,
        baseline_since=before.start,
        baseline_until=before.end,
    )
    verdicts = {r.check.id: (r.verdict, r.events) for r in split.results}
    assert {r.check.id: (r.verdict, r.events) for r in ranged.results} == verdicts
    assert split.exit_code == ExitCode.OK
    observed = [[t.observed for t in r.thresholds] for r in split.results]
    ranged_observed = [[t.observed for t in r.thresholds] for r in ranged.results]
    # sums of the same rows in another order may differ in the last digit
    assert ranged_observed == [
        [v if v is None else pytest.approx(v, rel=1e-12) for v in row] for row in observed
    ]


def test_baseline_range_options_on_the_command_line(tmp_path, incident):
    db = tmp_path / "one.duckdb"
    result = runner.invoke(app, ["ingest", "--db", str(db), str(INCIDENT)])
    assert result.exit_code == 0, result.output
    whole = resolve_range(incident)
    middle = whole.start + (whole.end - whole.start) / 2
    dod = tmp_path / "drop.dod.toml"
    dod.write_text(
        '[[check]]\nid = "fewer-400s"\ndetector = "schema_errors"\n'
        'threshold = "drop(count) >= 90%"\n',
        encoding="utf-8",
    )
    args = ["check", str(dod), "--db", str(db), "--format", "json"]
    later = [*args, "--since", middle.isoformat(), "--until", whole.end.isoformat()]
    result = runner.invoke(
        app,
        [*later, "--baseline-since", whole.start.isoformat(), "--baseline-until", middle.isoformat()],
    )
    # the errors went on in the second half: no drop, a real failure with a baseline figure
    assert result.exit_code == ExitCode.CHECKS_FAILED, result.output
    payload = json.loads(result.output)
    threshold = payload["checks"][0]["thresholds"][0]
    assert threshold["baseline"] > 0 and threshold["verdict"] == "fail"


# --------------------------------------------------------------------------- report == detectors


def _expected_total(spec, frame: pl.DataFrame, metric: str):
    """A metric over the whole range, read from the detector's own frame by its declared
    kind (the rule docs/check.md states), for the report to match."""
    rows = frame
    if spec.rollup is not None and spec.rollup[0] in frame.columns:
        total_rows = frame.filter(pl.col(spec.rollup[0]).cast(pl.String) == spec.rollup[1])
        rows = total_rows if total_rows.height else frame
    column = rows[metric].drop_nulls()
    if column.is_empty():
        return 0 if spec.metric(metric).kind == "count" else None
    kind = spec.metric(metric).kind
    value = column.sum() if kind == "count" else column.min() if kind in ("min", "interval") else column.max()
    return float(value)


@pytest.mark.parametrize("spec", list_detectors(), ids=lambda s: s.name)
def test_every_report_figure_is_the_detector_s_own(incident, spec):
    report = json.loads(render_json(build_report(incident, tz="UTC"), redact=False))
    section = next(d for d in report["detectors"] if d["name"] == spec.name)
    frame = run_detector(incident, spec.name)
    # the same rows as `loganalyze run` (the storm baseline median included)
    rows = pl.DataFrame(section["rows"], infer_schema_length=None)
    assert rows.height == frame.height
    for metric in spec.metrics:
        expected = _expected_total(spec, frame, metric)
        actual = section["totals"][metric]
        if expected is None:
            assert actual in (None, 0), metric
        else:
            assert actual == pytest.approx(expected, rel=1e-6), metric
        assert rows[metric].cast(pl.Float64).sum() == pytest.approx(
            frame[metric].cast(pl.Float64).sum(), rel=1e-6
        ), metric
    labels = {m.text: m.name for m in spec.metric_specs}
    for label, value in section["key_numbers"].items():
        if label in labels:
            assert value == pytest.approx(section["totals"][labels[label]], rel=1e-6), label


def test_storm_totals_match_run_and_series_match_windows(incident):
    with Analysis(incident) as analysis:
        storms = analysis.finding("conflict_storms")
    episodes = run_detector(incident, "conflict_storms")
    per_window = run_detector(incident, "conflict_storms", episodes=False)
    assert_frame_equal(storms.frame, episodes)
    assert storms.total("baseline_median") == episodes["baseline_median"].max()
    series = storms.per_window()
    assert series["value"].sum() == per_window["count"].sum() == episodes["count"].sum()
    assert series.height == per_window["window_start"].n_unique()


def test_a_finding_says_when_errors_stopped_while_traffic_went_on(incident):
    """Cut the schema errors at minute 6 and keep every other row: the finding stops at
    the end of minute 5 and says traffic continued."""
    con = loganalyze.connect()
    _shifted_copy(con, incident, timedelta(0), "")
    whole = resolve_range(con)
    cut = whole.start + timedelta(minutes=6)
    con.execute("DELETE FROM postgres_logs WHERE sqlstate = '42703' AND ts >= $cut", {"cut": cut})
    con.execute(
        "DELETE FROM edge_logs WHERE path = '/rest/v1/registrations' AND status = 400 "
        "AND ts >= $cut",
        {"cut": cut},
    )
    schema = detect(con, "schema_errors", since=whole.start, until=whole.end)
    assert schema.stopped() == cut
    assert schema.traffic_after > 0
    still = detect(incident, "schema_errors")
    assert still.stopped() is None  # the errors reach the end of the replay
    markdown = render_markdown(build_report(con, tz="UTC"))
    assert "while traffic continued" in markdown


def test_report_and_charts_take_window_all(tmp_path):
    result = runner.invoke(app, ["report", str(INCIDENT), "--window", "all", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["range"]["window"] == "all"
    assert data["headline"] and data["chains"] and data["overview"]["http_requests"] > 0
    schema = next(d for d in data["detectors"] if d["name"] == "schema_errors")
    assert len({row["window_start"] for row in schema["rows"]}) == 1
    charts = runner.invoke(
        app, ["charts", str(INCIDENT), "--window", "all", "--format", "html", "--out", str(tmp_path)]
    )
    assert charts.exit_code == 0, charts.output
    assert (tmp_path / "timeline.html").is_file()


@pytest.mark.parametrize("width", [80, 100])
def test_the_terminal_report_never_crops_a_number(incident, width):
    """Every number a panel's table shows is printed whole at 80 columns (CI logs); the
    columns that do not fit are named instead of cut."""
    from io import StringIO

    from rich.console import Console

    from loganalyze.report import render_rich
    from loganalyze.report.console import PANEL_CHROME, fit_columns
    from loganalyze.report.text import column_label, offender_rows

    report = build_report(incident, tz="UTC")
    out = StringIO()
    render_rich(report, Console(file=out, width=width, no_color=True))
    text = out.getvalue()
    assert max(len(line) for line in text.splitlines()) <= width
    # a number may only be folded inside a panel's line: compare without the borders
    flat = " ".join(line.strip("│ ") for line in text.splitlines())
    dropped_somewhere = False
    for finding in report.found:
        columns, rows = offender_rows(finding, "UTC", compact=True)
        labels = [column_label(finding, c) for c in columns]
        numeric = {column_label(finding, c) for c in finding.metric_columns}
        kept = fit_columns(labels, rows, numeric, width - PANEL_CHROME)
        dropped_somewhere |= len(kept) < len(labels)
        for row in rows:
            for i in kept:
                if labels[i] in numeric:
                    assert f" {row[i]} " in f" {flat} ", (finding.name, labels[i], row[i])
    if width == 80:
        assert dropped_somewhere and "not shown at this width:" in text


def test_report_filters_narrow_every_finding_or_say_they_cannot(incident):
    from loganalyze.findings import Narrowing

    whole = build_report(incident, tz="UTC")
    narrowed = build_report(incident, tz="UTC", narrowing=Narrowing(status="409", path="/rest/v1/*"))
    by_name = {f.name: f for f in narrowed.results}
    storms = by_name["status_storms"]
    everything = next(f for f in whole.results if f.name == "status_storms")
    expected = everything.frame.filter(
        (pl.col("status_class") == "409") & pl.col("path").str.starts_with("/rest/v1/")
    )
    assert storms.total("count") == expected["count"].sum() > 0
    assert set(storms.frame["status_class"]) == {"409"}
    # Realtime presence rows are about a project, not a path or a status: not judged
    presence = by_name["realtime_presence"]
    assert not presence.conclusive and presence.frame.is_empty()
    assert any("cannot be narrowed by --path" in m for m in presence.missing)
    assert presence in narrowed.unjudged
    markdown = render_markdown(narrowed, redact=False)
    assert "| **Narrowed to** | path /rest/v1/*, status 409 |" in markdown
    lines = [ln for ln in markdown.splitlines() if " edge_logs: " in ln]
    assert lines and all(" | 409 | " in ln for ln in lines)


def test_report_filters_on_the_command_line():
    result = runner.invoke(
        app, ["report", str(INCIDENT), "--user", "nobody", "--format", "json", "--no-redact"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["narrowed"] == "user nobody"
    for detector in data["detectors"]:
        assert detector["rows"] == [], detector["name"]  # nobody is no user in the replay
        if "user_id" not in detector["subject"]:
            assert not detector["conclusive"], detector["name"]


def test_a_row_dated_9999_that_bypassed_ingest_still_reports(tmp_path):
    """Ingest rejects such rows; one written into the database directly must still give a
    report (windows widened with a note), not an overflow."""
    con = loganalyze.connect()
    con.execute(
        "INSERT INTO edge_logs (id, ts, method, path, status) VALUES "
        "('a', TIMESTAMPTZ '2026-03-12 10:00:00+00', 'POST', '/rest/v1/registrations', 409), "
        "('far', TIMESTAMPTZ '9999-12-31 23:59:00+00', 'POST', '/rest/v1/registrations', 409)"
    )
    report = build_report(con, tz="UTC")
    storms = next(f for f in report.results if f.name == "status_storms")
    assert any("window" in c for c in storms.caveats), storms.caveats
    assert "Caveat:" in render_markdown(report)


def test_examples_follow_the_table_and_exact_path_filters(incident):
    from loganalyze.findings import Narrowing

    by_table = build_report(incident, tz="UTC", narrowing=Narrowing(table="registrations"))
    assert by_table.found and by_table.examples == {f.name: [] for f in by_table.found}
    exact = build_report(incident, tz="UTC", narrowing=Narrowing(path="/rest/v1/registrations"))
    lines = [line for rows in exact.examples.values() for _, table, line in rows if table == "edge_logs"]
    assert lines and all("/rest/v1/registrations" in line for line in lines)
