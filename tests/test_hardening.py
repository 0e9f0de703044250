"""Hardening: waiting on another process's lock, bounded windows, `query` printing every
DuckDB type without reaching the file system."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import duckdb
import pytest
from typer.testing import CliRunner

import loganalyze
from loganalyze.cli import app
from loganalyze.errors import InputError, UsageError
from loganalyze.report.query import run_query
from loganalyze.timeparse import MAX_WINDOWS, TimeRange, bounded_window

from .conftest import REPO, TEST_DATA

runner = CliRunner()


def _at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --------------------------------------------------------------------------- windows


def test_a_window_that_fits_is_kept_without_a_note():
    day = (_at(2026, 3, 12), _at(2026, 3, 13))
    bounded = bounded_window(day, "1m")
    assert bounded.width == timedelta(minutes=1)
    assert bounded.note is None


def test_a_stray_year_9999_widens_the_window_to_whole_days_within_the_bound():
    span = TimeRange(_at(2026, 3, 12), _at(9999, 12, 31), None, None)
    bounded = bounded_window(span, "1m")
    assert (span.end - span.start) / bounded.width <= MAX_WINDOWS
    assert bounded.width % timedelta(days=1) == timedelta(0)  # time_bucket: whole days
    assert "widened from 1m" in bounded.note and "9999-12-31" in bounded.note


@pytest.mark.parametrize(
    ("days", "expected"), [(8, timedelta(minutes=2)), (14, timedelta(minutes=5)), (100, timedelta(minutes=15)), (400, timedelta(hours=1))]
)
def test_widening_picks_the_narrowest_readable_width_that_fits(days, expected):
    start = _at(2026, 1, 1)
    bounded = bounded_window((start, start + timedelta(days=days)), "1m")
    assert bounded.width == expected
    narrower = [w for w in (timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=5),
                            timedelta(minutes=10), timedelta(minutes=15), timedelta(minutes=30),
                            timedelta(hours=1))
                if w < expected]
    assert all(timedelta(days=days) / w > MAX_WINDOWS for w in narrower)


def test_an_open_range_keeps_the_window():
    assert bounded_window((None, None), "30s").width == timedelta(seconds=30)
    assert bounded_window(None, "5m").note is None


def test_detector_windows_are_bounded_when_one_row_is_dated_far_away(con):
    from loganalyze.analysis import window_buckets
    from loganalyze.timeparse import resolve_range

    con.execute(
        "INSERT INTO edge_logs (id, ts, file_id, status) VALUES "
        "('a', TIMESTAMPTZ '2026-03-12 10:00:00+00', 0, 409), "
        "('stray', TIMESTAMPTZ '2100-01-01 00:00:00+00', 0, 409)"
    )
    time_range = resolve_range(con)
    width, _origin, note = window_buckets("1s", time_range)
    assert note is not None
    assert (time_range.end - time_range.start) / width <= MAX_WINDOWS


# --------------------------------------------------------------------------- lock


def _hold_lock(path, seconds: float) -> subprocess.Popen:
    code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("held", flush=True)
        time.sleep({seconds})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_waits_for_the_lock_then_opens(tmp_path, capfd):
    db = tmp_path / "busy.duckdb"
    loganalyze.connect(db).close()
    holder = _hold_lock(db, 1.0)
    try:
        con = loganalyze.connect(db, read_only=True, lock_timeout=20)
    finally:
        holder.wait()
    con.close()
    err = capfd.readouterr().err
    assert err.count("waiting for process") == 1 and str(db) in err


def test_the_lock_wait_is_bounded_and_names_the_holder(tmp_path):
    db = tmp_path / "busy.duckdb"
    loganalyze.connect(db).close()
    holder = _hold_lock(db, 30)
    try:
        with pytest.raises(InputError, match=rf"in use by process {holder.pid}"):
            loganalyze.connect(db, lock_timeout=0.5)
    finally:
        holder.kill()
        holder.wait()


def test_cli_lock_timeout_from_the_environment_gives_exit_3(tmp_path):
    db = tmp_path / "busy.duckdb"
    loganalyze.connect(db).close()
    holder = _hold_lock(db, 30)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "loganalyze", "report", "--db", str(db)],
            env={**os.environ, "LOGANALYZE_LOCK_TIMEOUT": "0.3"},
            capture_output=True,
            text=True,
        )
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    assert f"in use by process {holder.pid}" in result.stderr


def test_db_in_an_impossible_place_fails_with_the_path(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="cannot create the directory of database"):
        loganalyze.connect(blocker / "sub" / "x.duckdb")
    with pytest.raises(InputError, match="is a directory"):
        loganalyze.connect(tmp_path)


# --------------------------------------------------------------------------- query

EVERY_KIND = (
    "SELECT INTERVAL 3 DAY + INTERVAL 5 SECOND AS span, [1, 2] AS list, {'a': 1} AS struct, "
    "MAP {'k': 1} AS map, '\\xAA\\x00'::BLOB AS blob, 170141183460469231731687303715884105727::HUGEINT AS huge, "
    "'nan'::DOUBLE AS nan, 'infinity'::DATE AS forever, '10:00:00+02'::TIMETZ AS tz, "
    "union_value(a := 1) AS u, [1, 2]::INTEGER[2] AS arr, NULL AS nothing, 1 AS x, 2 AS x"
)


@pytest.fixture
def logs_db(tmp_path):
    db = tmp_path / "logs.duckdb"
    with loganalyze.connect(db) as con:
        con.execute(
            "INSERT INTO edge_logs (id, ts, file_id, status) VALUES "
            "('a', TIMESTAMPTZ '2026-03-12 10:00:00+00', 0, 200), "
            "('b', TIMESTAMPTZ '2026-03-12 10:07:30.25+00', 0, 409)"
        )
    return db


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_query_prints_every_duckdb_type(logs_db, fmt):
    # the table's columns must fit the test terminal's 80 characters
    sql = EVERY_KIND if fmt != "table" else "SELECT INTERVAL 3 DAY + INTERVAL 5 SECOND AS span, [1, 2] AS l, '\\xAA'::BLOB AS b"
    result = runner.invoke(app, ["query", sql, "--db", str(logs_db), "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        (row,) = json.loads(result.stdout)
        assert row["span"] == "3 days 00:00:05"
        assert row["list"] == [1, 2] and row["struct"] == {"a": 1} and row["map"] == {"k": 1}
        assert row["huge"] == 170141183460469231731687303715884105727
        assert row["nan"] == "nan" and row["forever"] == "infinity" and row["nothing"] is None
        assert (row["x"], row["x_1"]) == (1, 2)
    elif fmt == "csv":
        header, values = result.stdout.splitlines()
        assert header.startswith("span,list,struct,map,blob,huge,nan,forever")
        assert values.startswith('3 days 00:00:05,"[1, 2]",')
    else:
        assert "3 days 00:00:05" in result.stdout and "[1, 2]" in result.stdout and "\\xAA" in result.stdout


def test_query_interval_of_the_logs(logs_db):
    sql = "SELECT max(ts) - min(ts) AS span FROM edge_logs"
    result = runner.invoke(app, ["query", sql, "--db", str(logs_db), "--format", "json"])
    assert result.exit_code == 0, result.output
    with duckdb.connect(str(logs_db), read_only=True) as direct:
        ((expected,),) = direct.execute("SELECT CAST(max(ts) - min(ts) AS VARCHAR) FROM edge_logs").fetchall()
    assert json.loads(result.stdout) == [{"span": expected}]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM glob('/root/*')",
        "COPY (SELECT 1) TO '{out}/copied.csv'",
        "EXPORT DATABASE '{out}/exported'",
        "SET enable_external_access = true",
        "ATTACH '{out}/other.duckdb' AS other",
        "SELECT * FROM read_csv('{out}/../logs.duckdb')",
    ],
)
def test_query_cannot_reach_the_file_system(logs_db, tmp_path, sql):
    out = tmp_path / "out"
    out.mkdir()
    result = runner.invoke(app, ["query", sql.format(out=out), "--db", str(logs_db)])
    assert result.exit_code == 2, result.output
    assert list(out.iterdir()) == []
    assert "root:" not in result.stdout


def test_query_allow_files_lets_sql_read_files(logs_db, tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("a\n1\n2\n")
    sql = f"SELECT sum(a) AS total FROM read_csv('{data}')"
    refused = runner.invoke(app, ["query", sql, "--db", str(logs_db), "--format", "json"])
    allowed = runner.invoke(app, ["query", sql, "--db", str(logs_db), "--format", "json", "--allow-files"])
    assert refused.exit_code == 2
    assert allowed.exit_code == 0 and json.loads(allowed.stdout) == [{"total": 3}]


def test_query_help_says_file_access_is_off():
    result = runner.invoke(app, ["query", "--help"])
    assert "--allow-files" in result.stdout


def test_run_query_locks_the_configuration():
    con = duckdb.connect()
    run_query(con, "SELECT 1", fmt="json")
    with pytest.raises(UsageError, match="locked"):
        run_query(con, "SET lock_configuration = false", fmt="json")


# --------------------------------------------------------------------------- JUnit


def test_junit_with_control_characters_is_well_formed(con):
    from loganalyze.dod import check, parse_dod
    from loganalyze.dod.junit import to_junit_xml

    dod = parse_dod(
        '[dod]\ntitle = "bell\\u0007 and escape\\u001b"\n'
        '[[check]]\nid = "a"\ntitle = "nul\\u0000 vt\\u000b"\ndetector = "schema_errors"\n'
        'threshold = "count < 1"\n',
        path="x.dod.toml",
    )
    xml = to_junit_xml(check(con, dod))
    root = ET.fromstring(xml)  # raises ParseError when not well-formed
    suite = root.find("testsuite")
    assert suite.get("name") == "bell\\x07 and escape\\x1b"
    assert suite.find("testcase").get("name") == "a: nul\\x00 vt\\x0b"


# --------------------------------------------------------------------------- CLI errors

EVENTS = TEST_DATA / "hosted" / "events.ndjson"


def _cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "loganalyze", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=300,
    )


def _one_line_error(result: subprocess.CompletedProcess, code: int, *needles: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    errors = [ln for ln in result.stderr.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], result.stderr


def test_report_into_dev_full_is_a_disk_full_error():
    result = _cli("report", str(EVENTS), "--format", "markdown", "--out", "/dev/full")
    _one_line_error(result, 3, "/dev/full", "disk full")


def test_report_onto_a_directory_names_it(tmp_path):
    result = _cli("report", str(EVENTS), "--format", "markdown", "--out", str(tmp_path))
    _one_line_error(result, 3, str(tmp_path), "Is a directory")


@pytest.mark.parametrize("fmt", ["markdown", "rich"])
def test_report_into_a_missing_directory_creates_it(tmp_path, fmt):
    out = tmp_path / "missing" / "dir" / "r.txt"
    result = _cli("report", str(EVENTS), "--format", fmt, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 0


@pytest.fixture
def a_file(tmp_path):
    blocker = tmp_path / "plain-file"
    blocker.write_text("not a directory\n")
    return blocker


def test_outputs_under_a_regular_file_name_the_path(a_file):
    under = a_file / "sub"
    cases = [
        ("report", str(EVENTS), "--format", "markdown", "--out", str(under / "r.md")),
        ("check", str(REPO / "sample_logs" / "eventlive.dod.toml"), str(EVENTS), "--junit", str(under / "dod.xml")),
        ("charts", str(EVENTS), "--format", "html", "--out", str(a_file)),
        ("synth", "incident", "--users", "20", "--minutes", "1", "--out", str(under)),
    ]
    for args in cases:
        result = _cli(*args)
        _one_line_error(result, 3, str(a_file))


def test_db_under_proc_or_under_a_file_is_an_input_error(a_file):
    _one_line_error(_cli("ingest", str(EVENTS), "--db", "/proc/nowhere/x.duckdb"), 3, "/proc/nowhere/x.duckdb")
    _one_line_error(_cli("ingest", str(EVENTS), "--db", str(a_file / "x.duckdb")), 3, str(a_file / "x.duckdb"))
    _one_line_error(_cli("report", "--db", "/proc/x.duckdb"), 3, "/proc/x.duckdb")


def test_an_unreadable_file_inside_a_directory_is_named(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "events.ndjson").write_bytes(EVENTS.read_bytes())
    (logs / "zz-unreadable.log").symlink_to("/proc/self/mem")  # reading it fails with EIO
    db = tmp_path / "x.duckdb"
    result = _cli("ingest", str(logs), "--db", str(db))
    _one_line_error(result, 3, "zz-unreadable.log")
    assert not db.exists() or loganalyze.connect(db, read_only=True).execute(
        "SELECT count(*) FROM ingested_files"
    ).fetchall() == [(0,)]
