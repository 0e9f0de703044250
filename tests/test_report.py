"""`loganalyze report`: the report model and its renderers on a small incident written
into the normalized tables (the shape ingest produces), checked against numbers that
follow from the rows written here."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

import loganalyze
from loganalyze.cli import app
from loganalyze.errors import UsageError
from loganalyze.report import (
    build_report,
    render_html,
    render_json,
    render_markdown,
    render_rich,
)
from loganalyze.report.text import sparkline, window_series
from loganalyze.report.zones import resolve_zone, zone_label

START = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 10:00 in Asia/Seoul
SCHEMA_ERRORS = 37  # one every 15 s from START: windows 01:00 .. 01:09
AUTH_CALLS_PER_MINUTE = 12
AUTH_MINUTES = 5
REFRESH_RACES = 5
REJECTED = 2
ANSI = re.compile(r"\x1b\[")


def fill_incident(con) -> None:
    """The registrations.id storm seen by Postgres and the gateway, slow /auth/v1/user,
    a few refresh races, presence ticks, two rejected lines."""
    statements = """
        INSERT INTO ingested_files VALUES
            (1, 'export/edge.json', 'x', 'supabase-hosted-json', 'edge_logs', 1, 0, 2,
             NULL, NULL, TIMESTAMPTZ '2026-11-21 00:00:00+00', NULL);
        INSERT INTO rejected_rows VALUES
            (1, 'export/edge.json', 7, 'timestamp is not a number', '{}'),
            (1, 'export/edge.json', 9, 'timestamp is not a number', '{}');
        INSERT INTO postgres_logs (id, ts, severity, sqlstate, message, user_name, statement)
        SELECT 'pg' || i, $start + i * INTERVAL 15 SECOND, 'ERROR', '42703',
               'column registrations.id does not exist', 'authenticator',
               'SELECT registrations.id FROM registrations'
        FROM range($errors) AS t(i);
        INSERT INTO edge_logs (id, ts, method, path, query, status, latency_ms, error_code,
                               user_id, client_info)
        SELECT 'e' || i, $start + i * INTERVAL 15 SECOND, 'GET', '/rest/v1/registrations',
               '?select=id', 400, 12.0, '42703', 'user-' || (i % 4), 'supabase-js-node/2.45.0'
        FROM range($errors) AS t(i);
        INSERT INTO edge_logs (id, ts, method, path, status, latency_ms, user_id, client_info)
        SELECT 'au' || i, $start + i * INTERVAL 5 SECOND, 'GET', '/auth/v1/user', 200,
               100.0 + 10 * i, 'user-' || (i % 4), 'supabase-js-node/2.45.0'
        FROM range($auth_calls) AS t(i);
        INSERT INTO auth_logs (id, ts, level, msg, method, path, status, duration_ms,
                               error_code, request_id, grant_type)
        SELECT 'rt' || i, $start + INTERVAL 90 SECOND + i * INTERVAL 1 SECOND, 'warning',
               'request completed', 'POST', '/auth/v1/token', 400, 3.0,
               'refresh_token_already_used', 'req-' || i, 'refresh_token'
        FROM range($races) AS t(i);
        INSERT INTO realtime_logs (id, ts, metric, sum_value)
        SELECT 'rl' || i, $start + i * INTERVAL 5 SECOND, 'presence_events', 40
        FROM range(120) AS t(i)
        """
    params = {
        "start": START,
        "errors": SCHEMA_ERRORS,
        "auth_calls": AUTH_CALLS_PER_MINUTE * AUTH_MINUTES,
        "races": REFRESH_RACES,
    }
    for statement in statements.split(";"):
        used = {k: v for k, v in params.items() if "$" + k in statement}
        con.execute(statement, used)


@pytest.fixture(scope="module")
def incident_con():
    con = loganalyze.connect()
    fill_incident(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def report(incident_con):
    return build_report(incident_con, window="1m", tz="Asia/Seoul")


def rich_text(report, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, no_color=True)
    render_rich(report, console)
    return console.file.getvalue()


# --------------------------------------------------------------------------- the model


def test_report_covers_the_data_and_counts_sources_and_rejects(report) -> None:
    assert report.data_start == START
    assert report.data_end == START + timedelta(seconds=5 * 119)  # the last presence tick
    sources = dict(report.sources.iter_rows())
    assert sources["postgres_logs"] == SCHEMA_ERRORS
    assert sources["edge_logs"] == SCHEMA_ERRORS + AUTH_CALLS_PER_MINUTE * AUTH_MINUTES
    assert sources["auth_logs"] == REFRESH_RACES
    assert "vercel_logs" not in sources  # empty tables are not listed
    assert report.rejected_rows == REJECTED


def test_detectors_that_found_something_come_most_severe_first(report) -> None:
    ranks = [r.rank for r in report.found]
    assert ranks == sorted(ranks)
    names = [r.name for r in report.found]
    assert "schema_errors" in names
    assert not set(names) & {r.name for r in report.quiet}


def test_schema_errors_counts_each_event_once_although_two_sources_saw_it(report) -> None:
    result = next(r for r in report.found if r.name == "schema_errors")
    assert result.total_events == SCHEMA_ERRORS
    top = result.top_offenders()
    assert top.row(0, named=True)["relation"] == "registrations"
    assert top["count"].sum() == SCHEMA_ERRORS


def test_sparkline_has_one_cell_per_window_of_the_range(report) -> None:
    result = next(r for r in report.found if r.name == "schema_errors")
    series = window_series(report, result)
    minutes = int((report.end - report.start) / timedelta(minutes=1)) + 1
    assert series.size == minutes
    # one error every 15 s: four per full minute, the rest of the range has none
    assert series[:9].tolist() == [4.0] * 9
    assert series[9] == SCHEMA_ERRORS - 36
    assert not series[10:].any()


def test_sparkline_scales_to_the_peak_and_leaves_empty_windows_blank() -> None:
    assert sparkline(np.array([0.0, 1.0, 4.0, 8.0])) == " ▁▄█"
    assert sparkline(np.zeros(3)) == "   "
    merged = sparkline(np.arange(100, dtype=float), width=10)
    assert len(merged) == 10 and merged[-1] == "█"


def test_timeline_panels_follow_the_rows(report) -> None:
    timeline = report.timeline
    errors = timeline.filter(timeline["panel"] == "http_errors")
    assert errors["series"].unique().to_list() == ["/rest/v1/registrations 400"]
    assert errors["value"].sum() == SCHEMA_ERRORS
    sqlstates = timeline.filter(timeline["panel"] == "sqlstate")
    assert sqlstates["series"].unique().to_list() == ["42703 undefined_column"]
    assert sqlstates["value"].sum() == SCHEMA_ERRORS  # Postgres' own log, not both sources
    races = timeline.filter(timeline["panel"] == "refresh_races")
    assert races["value"].sum() == REFRESH_RACES


def test_auth_user_panel_has_the_p95_and_call_rate_of_each_minute(report) -> None:
    auth = report.timeline.filter(report.timeline["panel"] == "auth_user")
    calls = auth.filter(auth["series"] == "calls").sort("window_start")
    # a count is 0 in the windows after the calls stopped, so the line drops to zero
    assert calls["value"].to_list() == [float(AUTH_CALLS_PER_MINUTE)] * AUTH_MINUTES + [0.0] * 5
    p95 = auth.filter(auth["series"] == "p95 ms").sort("window_start")
    for minute, value in enumerate(p95["value"].to_list()):
        latencies = 100.0 + 10 * np.arange(
            minute * AUTH_CALLS_PER_MINUTE, (minute + 1) * AUTH_CALLS_PER_MINUTE
        )
        assert value == pytest.approx(np.percentile(latencies, 95))


def test_an_empty_database_reports_that_it_holds_nothing() -> None:
    con = loganalyze.connect()
    empty = build_report(con, tz="UTC")
    assert empty.found == []
    assert "no events" in (empty.notice or "")
    text = rich_text(empty)
    assert "No data: the database holds no log rows" in text
    assert "none (the database holds no log rows)" in text
    assert json.loads(render_json(empty))["notice"] == empty.notice


def test_a_range_outside_the_data_says_where_the_data_is(incident_con) -> None:
    report = build_report(
        incident_con, since="2026-11-21T00:00:00Z", until="2026-11-21T01:00:00Z", tz="UTC"
    )
    assert report.found == []
    assert "2026-11-20T01:00:00Z" in report.notice


def test_unknown_zone_is_a_usage_error(incident_con) -> None:
    with pytest.raises(UsageError, match="unknown time zone"):
        build_report(incident_con, tz="Mars/Olympus_Mons")


# --------------------------------------------------------------------------- renderers


def test_rich_fits_100_columns_without_colour_codes(report) -> None:
    text = rich_text(report)
    assert not ANSI.search(text)
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "Times in  Asia/Seoul (UTC+09:00)" in text
    # 01:00 UTC shown as Seoul wall-clock time
    assert "2026-11-20 10:00:00" in text
    assert "Rejected  2 rows (timestamp is not a number: 2)" in text
    assert "▇" in text or "█" in text
    assert "registrations" in text
    # panels in severity order
    positions = [text.index(f"({r.name})") for r in report.found]
    assert positions == sorted(positions)


def test_markdown_has_the_same_sections_as_the_terminal(report) -> None:
    text = render_markdown(report)
    headings = re.findall(r"^## \d+\. .* \(`(\w+)`\)$", text, flags=re.MULTILINE)
    assert headings == [r.name for r in report.found]
    assert "| **Times in** | Asia/Seoul (UTC+09:00) |" in text
    for line in text.splitlines():
        if line.startswith("|"):
            # every table row has as many cells as its header (pipes in cells escaped)
            assert len(re.split(r"(?<!\\)\|", line)) >= 4 or line.startswith("|  |")


def test_json_is_everything_in_utc(report) -> None:
    data = json.loads(render_json(report))
    assert data["range"]["tz"] == "Asia/Seoul"
    assert data["range"]["data_start"] == "2026-11-20T01:00:00Z"
    assert data["rejected"]["rows"] == REJECTED
    by_name = {d["name"]: d for d in data["detectors"]}
    assert set(by_name) == {r.name for r in report.results}
    schema = by_name["schema_errors"]
    assert schema["found"] is True
    assert schema["totals"]["count"] == SCHEMA_ERRORS
    assert schema["key_numbers"]["schema errors"] == SCHEMA_ERRORS
    assert schema["metric_kinds"]["count"] == "count" and schema["conclusive"] is True
    assert sum(row["count"] for row in schema["rows"]) == SCHEMA_ERRORS
    assert schema["rows"][0]["window_start"] == "2026-11-20T01:00:00Z"
    panels = {row["panel"] for row in data["timeline"]}
    assert {"http_errors", "sqlstate", "auth_user", "refresh_races", "presence"} <= panels


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.external: list[str] = []
        self.scripts_with_src = 0
        self.charts: list[str] = []
        self.ids: set[str] = set()
        self.anchors: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        values = dict(attrs)
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and (values.get("href") or "").startswith("#"):
            self.anchors.append(values["href"][1:])
        for key in ("src", "href", "data"):
            target = values.get(key) or ""
            if re.match(r"(https?:)?//", target):
                self.external.append(f"{tag} {key}={target}")
        if tag == "script" and "src" in values:
            self.scripts_with_src += 1
        if tag == "div" and "data-chart" in values:
            self.charts.append(values["data-chart"])


def test_html_is_one_self_contained_file_with_every_chart(report) -> None:
    page = render_html(report, marks=["2026-11-20T10:05 fix deployed"])
    refs = _Refs()
    refs.feed(page)
    assert refs.external == []
    assert refs.scripts_with_src == 0
    assert page.count("Plotly.newPlot(") == 1 + len(report.found)
    assert refs.charts == ["timeline"] + [r.name for r in report.found]
    # the table of contents links the story's parts, then every finding, in order
    assert refs.anchors == ["headline", "timeline"] + [f"detector-{r.name}" for r in report.found]
    assert set(refs.anchors) <= refs.ids
    assert "fix deployed" in page
    # the mark is drawn at 10:05 Seoul time on the shared (Seoul) time axis
    assert '"x0":"2026-11-20T10:05:00"' in page


def test_a_mark_outside_the_range_is_listed_as_such(report) -> None:
    page = render_html(report, marks=["2026-11-21T09:00 next day", "2026-11-20T10:03 rollback"])
    assert "2026-11-21 09:00:00 next day (outside the range)" in page
    assert "2026-11-20 10:03:00 rollback</td>" in page


def test_marks_without_a_time_are_a_usage_error(report) -> None:
    with pytest.raises(UsageError, match="--mark"):
        render_html(report, marks=["fix deployed"])


# --------------------------------------------------------------------------- DoD verdicts


DOD = """\
[[check]]
id = "P0-1"
title = "no registrations.id errors"
detector = "schema_errors"
where = { relation = "registrations" }
threshold = "count == 0"
"""


def test_dod_verdicts_appear_in_every_format(incident_con, tmp_path) -> None:
    dod_file = tmp_path / "fix.dod.toml"
    dod_file.write_text(DOD, encoding="utf-8")
    verdicts = loganalyze.check(incident_con, dod_file)
    report = build_report(incident_con, tz="UTC", dod=verdicts)
    assert report.dod is verdicts
    (result,) = report.dod.results
    assert (result.check.id, result.verdict.value) == ("P0-1", "fail")
    assert result.thresholds[0].observed == SCHEMA_ERRORS
    assert "P0-1" in rich_text(report) and "fail" in rich_text(report)
    # one renderer for the verdicts: the report shows what `check` shows
    from loganalyze.dod.render import to_dict, to_markdown

    markdown = render_markdown(report)
    assert to_markdown(verdicts) in markdown
    assert "| **P0-1** no registrations.id errors | ❌ fail | 37 | `count == 0` | — |" in markdown
    assert json.loads(render_json(report))["dod"] == json.loads(json.dumps(to_dict(verdicts)))
    assert 'class="verdict-fail">FAIL' in render_html(report)


def test_relative_dod_thresholds_are_judged_against_a_baseline(incident_con, tmp_path) -> None:
    dod_file = tmp_path / "drop.dod.toml"
    dod_file.write_text(
        DOD.replace('threshold = "count == 0"', 'threshold = "drop(count) >= 90%"'), "utf-8"
    )
    after_fix = loganalyze.connect()
    after_fix.execute(
        "INSERT INTO edge_logs (id, ts, method, path, status, latency_ms) "
        "SELECT 'ok' || i, $start + i * INTERVAL 10 SECOND, 'GET', '/rest/v1/registrations', "
        "200, 9.0 FROM range(60) AS t(i)",
        {"start": START},
    )
    without = build_report(after_fix, tz="UTC", dod=loganalyze.check(after_fix, dod_file))
    assert without.dod.results[0].verdict.value == "skipped"
    judged = build_report(
        after_fix, tz="UTC", dod=loganalyze.check(after_fix, dod_file, incident_con)
    )
    (result,) = judged.dod.results
    assert result.verdict.value == "pass" and result.thresholds[0].observed == 1.0


# --------------------------------------------------------------------------- CLI


@pytest.fixture(scope="module")
def db_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "incident.duckdb"
    con = loganalyze.connect(path)
    fill_incident(con)
    con.close()
    return path


def test_cli_json_prints_only_json(db_file) -> None:
    result = CliRunner().invoke(app, ["report", "--db", str(db_file), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["range"]["window"] == "1m"


def test_cli_writes_html_and_markdown_files(db_file, tmp_path) -> None:
    runner = CliRunner()
    page = tmp_path / "out" / "report.html"
    result = runner.invoke(
        app,
        ["report", "--db", str(db_file), "--format", "html", "--out", str(page),
         "--mark", "2026-11-20T01:05:00Z rollback", "--tz", "UTC"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    markdown = tmp_path / "report.md"
    result = runner.invoke(
        app, ["report", "--db", str(db_file), "--format", "markdown", "--out", str(markdown)]
    )
    assert result.exit_code == 0
    assert markdown.read_text(encoding="utf-8").startswith("# loganalyze report")
    terminal = tmp_path / "report.txt"
    result = runner.invoke(app, ["report", "--db", str(db_file), "--out", str(terminal)])
    assert result.exit_code == 0 and result.stdout == ""
    text = terminal.read_text(encoding="utf-8")
    assert "Schema errors (schema_errors)" in text and not ANSI.search(text)


def test_cli_terminal_view_is_plain_and_80_columns_when_piped(db_file, monkeypatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    result = CliRunner().invoke(app, ["report", "--db", str(db_file), "--tz", "UTC"])
    assert result.exit_code == 0, result.output
    assert not ANSI.search(result.stdout)
    assert max(len(line) for line in result.stdout.splitlines()) == 80
    assert "Times in  UTC" in result.stdout
    monkeypatch.setenv("COLUMNS", "120")
    wide = CliRunner().invoke(app, ["report", "--db", str(db_file), "--tz", "UTC"])
    assert max(len(line) for line in wide.stdout.splitlines()) == 120


def test_default_zone_is_the_local_one_and_is_named(monkeypatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert resolve_zone(None) == "Europe/Berlin"
    assert zone_label("Europe/Berlin", START) == "Europe/Berlin (UTC+01:00)"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert resolve_zone(None) != "Not/AZone"


def test_cli_bad_zone_exits_2_with_a_hint(db_file) -> None:
    result = CliRunner().invoke(app, ["report", "--db", str(db_file), "--tz", "Asia/Seol"])
    assert result.exit_code == 2
    assert "unknown time zone" in result.stderr and "Asia/Seoul" in result.stderr
    assert result.stdout == ""


def test_building_a_report_imports_neither_rich_nor_plotly() -> None:
    import subprocess
    import sys

    code = (
        "import sys, loganalyze, loganalyze.report, loganalyze.report.charts; "
        "con = loganalyze.connect(); loganalyze.report.build_report(con, tz='UTC'); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'rich', 'plotly', 'kaleido'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_timeline_falls_back_to_the_gateway_and_to_gotrue_when_a_log_is_missing() -> None:
    """A hosted export without postgres_logs still shows SQLSTATEs (from PostgREST's
    Proxy-Status in edge_logs); one without edge rows for /auth/v1/user shows GoTrue's."""
    from loganalyze.analysis import Analysis
    from loganalyze.report.timeline import build_timeline

    con = loganalyze.connect()
    con.execute(
        "INSERT INTO edge_logs (id, ts, method, path, status, error_code) "
        "SELECT 'e' || i, $start + i * INTERVAL 20 SECOND, 'POST', '/rest/v1/registrations', "
        "409, '23505' FROM range(6) AS t(i)",
        {"start": START},
    )
    con.execute(
        "INSERT INTO auth_logs (id, ts, msg, method, path, status, duration_ms) "
        "SELECT 'a' || i, $start + i * INTERVAL 30 SECOND, 'request completed', 'GET', "
        "'/auth/v1/user', 200, 1000.0 + i FROM range(4) AS t(i)",
        {"start": START},
    )
    with Analysis(con, since=START, until=START + timedelta(minutes=2)) as analysis:
        timeline = build_timeline(analysis, timedelta(minutes=1))
    sqlstate = timeline.filter(timeline["panel"] == "sqlstate")
    assert sqlstate["series"].unique().to_list() == ["23505 unique_violation"]
    assert sqlstate["value"].sum() == 6
    auth = timeline.filter(timeline["panel"] == "auth_user")
    calls = auth.filter(auth["series"] == "calls")["value"].to_list()
    assert calls == [2.0, 2.0]
    p95 = auth.filter(auth["series"] == "p95 ms").sort("window_start")["value"].to_list()
    assert p95 == pytest.approx(
        [np.percentile([1000.0, 1001.0], 95), np.percentile([1002.0, 1003.0], 95)]
    )
