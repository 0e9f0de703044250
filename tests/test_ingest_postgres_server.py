"""A real PostgreSQL writes the logs: one bounded workload with known numbers of 42703,
23505, 42501, slow and multi-line statements, logged at once to stderr (prefix without
%e, so error codes must be inferred), csvlog and jsonlog. Each file must give exactly
those numbers, and the three must agree row for row."""

from __future__ import annotations

import subprocess
import threading

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


@pytest.fixture(scope="module")
def server_logs():
    if pg_server.find_bindir() is None:
        pytest.skip("PostgreSQL 15+ server binaries not installed (run .ci/start-postgres.sh)")
    server = pg_server.start_server(PREFIX, SLOW_MS)
    try:
        _run(server, SETUP)
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
        server.stop()  # flushes the logging collector's files
        yield {
            "stderr": server.log_file(".log"),
            "csvlog": server.log_file(".csv"),
            "jsonlog": server.log_file(".json"),
        }
    finally:
        pg_server.remove(server)


def _run(server, sql: str, user: str = "postgres") -> subprocess.CompletedProcess[str]:
    done = server.psql(sql, user=user)
    assert "could not connect" not in done.stderr, done.stderr
    return done


@pytest.fixture(scope="module")
def ingested(server_logs):
    out = {}
    for kind, path in server_logs.items():
        con = loganalyze.connect()
        summary = ingest([path], con)
        out[kind] = (con, summary)
    yield out
    for con, _ in out.values():
        con.close()


@pytest.mark.parametrize("kind", ["stderr", "csvlog", "jsonlog"])
def test_each_file_gives_the_workload_numbers(ingested, kind):
    con, summary = ingested[kind]
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


@pytest.mark.parametrize("kind", ["stderr", "csvlog", "jsonlog"])
def test_multi_line_statements_keep_their_lines(ingested, kind):
    con, _ = ingested[kind]
    error_statements = [
        r[0]
        for r in con.execute(
            "SELECT statement FROM postgres_logs WHERE sqlstate = '42703' ORDER BY ts"
        ).fetchall()
    ]
    assert MULTI_LINE_ERROR in [s.rstrip(";") for s in error_statements]
    slow_statements = [
        r[0].rstrip(";")
        for r in con.execute(
            "SELECT statement FROM postgres_logs WHERE duration_ms IS NOT NULL"
        ).fetchall()
    ]
    assert MULTI_LINE_SLOW in slow_statements


@pytest.mark.parametrize("kind", ["stderr", "csvlog", "jsonlog"])
def test_continuation_lines_stay_with_their_backend(ingested, kind):
    """The two concurrent sessions interleave; each 23505 keeps its own DETAIL and
    STATEMENT, and no other entry picks them up."""
    con, _ = ingested[kind]
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


def test_stderr_codes_are_inferred_and_structured_codes_are_logged(ingested):
    stderr_con, _ = ingested["stderr"]
    csv_con, _ = ingested["csvlog"]
    assert stderr_con.execute(
        "SELECT bool_and(sqlstate_inferred) FROM postgres_logs WHERE severity = 'ERROR'"
    ).fetchone() == (True,)
    assert csv_con.execute(
        "SELECT bool_or(sqlstate_inferred) FROM postgres_logs"
    ).fetchone() == (False,)


def test_three_destinations_agree_row_for_row(ingested):
    def rows(kind):
        con, _ = ingested[kind]
        return con.execute(
            "SELECT ts, pid, severity, message, detail, hint, statement, user_name, database, "
            "duration_ms FROM postgres_logs ORDER BY ALL"
        ).fetchall()

    def codes(kind):
        con, _ = ingested[kind]
        return con.execute(
            "SELECT ts, pid, sqlstate FROM postgres_logs WHERE severity = 'ERROR' ORDER BY ALL"
        ).fetchall()

    stderr, csvlog, jsonlog = rows("stderr"), rows("csvlog"), rows("jsonlog")
    assert len(stderr) > sum(EXPECTED_ERRORS.values())
    assert stderr == csvlog
    assert csvlog == jsonlog
    assert codes("stderr") == codes("csvlog") == codes("jsonlog")


def test_reingesting_the_same_file_adds_nothing(server_logs):
    con = loganalyze.connect()
    first = ingest([server_logs["stderr"]], con)
    second = ingest([server_logs["stderr"]], con)
    assert first.rows > 0
    assert second.rows == 0
    assert second.duplicates == first.rows
    con.close()
