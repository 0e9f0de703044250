"""A real PostgreSQL writes the logs: one bounded workload with known numbers of 42703,
23505, 42501, slow and multi-line statements, logged at once to stderr (prefix without
%e, so error codes must be inferred), csvlog and jsonlog. Each file must give exactly
those numbers, and the three must agree row for row."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest

import loganalyze
from loganalyze.ingest import ingest

from . import pg_server

pytestmark = pytest.mark.postgres

PREFIX = "%m [%p] %q%u@%d "
SLOW_MS = 500

SETUP = """
CREATE TABLE registrations (
    webinar_id integer NOT NULL,
    user_id    integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (webinar_id, user_id)
);
INSERT INTO registrations (webinar_id, user_id) VALUES (1, 1), (1, 2);
CREATE ROLE attendee LOGIN;
"""

MULTI_LINE_ERROR = """select id,
       webinar_id
  from registrations
 where user_id = 2"""

MULTI_LINE_SLOW = """select pg_sleep(0.6),
       'multi-line' as label"""

OWNER_WORKLOAD = (
    "select id from registrations where webinar_id = 1;\n" * 4
    + MULTI_LINE_ERROR + ";\n"
    + "insert into registrations (webinar_id, user_id) values (1, 1);\n" * 3
    + "select pg_sleep(0.6);\n" * 2
    + MULTI_LINE_SLOW + ";\n"
)
ATTENDEE_WORKLOAD = "select * from registrations;\n" * 2
CONCURRENT_WORKLOAD = "insert into registrations (webinar_id, user_id) values (1, 2);\n" * 5
CONCURRENT_SESSIONS = 2

EXPECTED_ERRORS = {"42703": 5, "23505": 3 + 5 * CONCURRENT_SESSIONS, "42501": 2}
EXPECTED_SLOW = 3


PREFIX_WITH_CODE = "%m [%p] %q%u@%d %e "
PHASES = ("inferred", "logged")
KINDS = ("stderr", "csvlog", "jsonlog")


@pytest.fixture(scope="module")
def server_logs():
    """(phase, kind) -> log file. Phase `inferred`: stderr without %e; then the server
    switches to a prefix with %e and new log files (a reload), and phase `logged` runs
    the same workload again."""
    if pg_server.find_bindir() is None:
        pytest.skip("PostgreSQL 15+ server binaries not installed (run .ci/start-postgres.sh)")
    server = pg_server.start_server(PREFIX, SLOW_MS)
    try:
        _run(server, SETUP)
        _workload(server)
        _run(server, (
            f"ALTER SYSTEM SET log_line_prefix = '{PREFIX_WITH_CODE}';\n"
            "ALTER SYSTEM SET log_filename = 'pg-e.log';\n"
            "SELECT pg_reload_conf();\n"
        ))
        _wait_for(server.log_file("-e.json"))
        _workload(server)
        server.stop()  # flushes the logging collector's files
        yield {
            (phase, kind): server.log_file(stem + suffix)
            for phase, stem in zip(PHASES, ("", "-e"), strict=True)
            for kind, suffix in zip(KINDS, (".log", ".csv", ".json"), strict=True)
        }
    finally:
        pg_server.remove(server)


def _workload(server) -> None:
    _run(server, OWNER_WORKLOAD)
    _run(server, ATTENDEE_WORKLOAD, user="attendee")
    threads = [
        threading.Thread(target=_run, args=(server, CONCURRENT_WORKLOAD))
        for _ in range(CONCURRENT_SESSIONS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _wait_for(path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"the server did not switch to {path.name}"
        time.sleep(0.1)


def _run(server, sql: str, user: str = "postgres") -> subprocess.CompletedProcess[str]:
    done = server.psql(sql, user=user)
    assert "could not connect" not in done.stderr, done.stderr
    return done


@pytest.fixture(scope="module")
def ingested(server_logs):
    out = {}
    for key, path in server_logs.items():
        con = loganalyze.connect()
        out[key] = (con, ingest([path], con))
    yield out
    for con, _ in out.values():
        con.close()


EVERY_FILE = [(phase, kind) for phase in PHASES for kind in KINDS]


@pytest.mark.parametrize(("phase", "kind"), EVERY_FILE)
def test_each_file_gives_the_workload_numbers(ingested, phase, kind):
    con, summary = ingested[phase, kind]
    assert summary.files[0].format == "postgres-" + kind
    assert summary.rejected == 0
    errors = dict(
        con.execute(
            "SELECT sqlstate, count(*) FROM postgres_logs WHERE severity = 'ERROR' GROUP BY 1"
        ).fetchall()
    )
    assert errors == EXPECTED_ERRORS
    slow = con.execute(
        "SELECT count(*), min(duration_ms) FROM postgres_logs "
        "WHERE duration_ms IS NOT NULL AND statement LIKE '%pg_sleep%'"
    ).fetchone()
    assert slow[0] == EXPECTED_SLOW
    assert slow[1] >= SLOW_MS
    # every logged duration passed the threshold
    assert con.execute(
        "SELECT count(*) FROM postgres_logs WHERE duration_ms < ?", [SLOW_MS]
    ).fetchone() == (0,)


@pytest.mark.parametrize(("phase", "kind"), EVERY_FILE)
def test_multi_line_statements_keep_their_lines(ingested, phase, kind):
    con, _ = ingested[phase, kind]
    error_statements = [
        r[0].rstrip(";")
        for r in con.execute("SELECT statement FROM postgres_logs WHERE sqlstate = '42703'").fetchall()
    ]
    assert MULTI_LINE_ERROR in error_statements
    slow_statements = [
        r[0].rstrip(";")
        for r in con.execute(
            "SELECT statement FROM postgres_logs WHERE duration_ms IS NOT NULL"
        ).fetchall()
    ]
    assert MULTI_LINE_SLOW in slow_statements


@pytest.mark.parametrize(("phase", "kind"), EVERY_FILE)
def test_continuation_lines_stay_with_their_backend(ingested, phase, kind):
    """The two concurrent sessions interleave; each 23505 keeps its own DETAIL and
    STATEMENT, and no other entry picks them up."""
    con, _ = ingested[phase, kind]
    rows = con.execute(
        "SELECT sqlstate, detail, statement FROM postgres_logs WHERE severity = 'ERROR'"
    ).fetchall()
    for sqlstate, detail, statement in rows:
        if sqlstate == "23505":
            assert detail.startswith("Key (webinar_id, user_id)=(1, ") and detail.endswith(") already exists.")
            assert statement.startswith("insert into registrations")
        else:
            assert detail is None
            assert statement.startswith("select")
    users = dict(
        con.execute(
            "SELECT sqlstate, string_agg(DISTINCT user_name, ',') FROM postgres_logs "
            "WHERE severity = 'ERROR' GROUP BY 1"
        ).fetchall()
    )
    assert users == {"42703": "postgres", "23505": "postgres", "42501": "attendee"}


def test_codes_are_inferred_only_where_stderr_lacks_them(ingested):
    def inferred(phase, kind):
        con, _ = ingested[phase, kind]
        return con.execute(
            "SELECT bool_and(sqlstate_inferred), bool_or(sqlstate_inferred) FROM postgres_logs "
            "WHERE severity = 'ERROR'"
        ).fetchone()

    assert inferred("inferred", "stderr") == (True, True)
    for phase, kind in EVERY_FILE:
        if (phase, kind) != ("inferred", "stderr"):
            assert inferred(phase, kind) == (False, False), (phase, kind)
    con, summary = ingested["logged", "stderr"]
    assert f"'{PREFIX_WITH_CODE}'" in " ".join(summary.files[0].notes)
    # %e sits after %q: background processes (no session) print no code
    assert con.execute(
        "SELECT count(*) FILTER (WHERE sqlstate IS NULL AND user_name IS NOT NULL), "
        "count(*) FILTER (WHERE sqlstate = '00000') FROM postgres_logs"
    ).fetchone()[0] == 0


@pytest.mark.parametrize("phase", PHASES)
def test_three_destinations_agree_row_for_row(ingested, phase):
    def rows(kind):
        con, _ = ingested[phase, kind]
        return con.execute(
            "SELECT ts, pid, severity, message, detail, hint, statement, user_name, database, "
            "duration_ms FROM postgres_logs ORDER BY ALL"
        ).fetchall()

    def codes(kind, severities):
        con, _ = ingested[phase, kind]
        return con.execute(
            "SELECT ts, pid, severity, sqlstate FROM postgres_logs WHERE list_contains(?, severity) "
            "AND user_name IS NOT NULL ORDER BY ALL",
            [severities],
        ).fetchall()

    stderr, csvlog, jsonlog = rows("stderr"), rows("csvlog"), rows("jsonlog")
    assert len(stderr) > sum(EXPECTED_ERRORS.values())
    assert stderr == csvlog
    assert csvlog == jsonlog
    # without %e stderr knows the codes of errors only (inferred); with %e (after %q),
    # of every session's row
    severities = ["ERROR"] if phase == "inferred" else ["ERROR", "LOG", "FATAL", "WARNING"]
    assert codes("stderr", severities) == codes("csvlog", severities) == codes("jsonlog", severities)


def test_reingesting_the_same_file_adds_nothing(server_logs):
    con = loganalyze.connect()
    first = ingest([server_logs["inferred", "stderr"]], con)
    second = ingest([server_logs["inferred", "stderr"]], con)
    assert first.rows > 0
    assert second.rows == 0
    assert second.duplicates == first.rows
    con.close()
