"""A query log (`log_min_duration_statement = 0`) written by a real PostgreSQL: every
statement is a `duration:` entry, over the simple protocol (`statement:`) and the
extended one (`parse`, `bind`, `execute`, with `DETAIL:  parameters:`), statements over
several lines (one with a blank line, one parameter holding a newline), and failing
statements with their STATEMENT. The stderr log, with supabase/postgres's prefix, must
give the workload's known counts, and the same rows as the server's own jsonlog of the
same events."""

from __future__ import annotations

import subprocess

import pytest

import loganalyze
from loganalyze.ingest import ingest

from . import pg_server

pytestmark = pytest.mark.postgres

PREFIX = "%h %m [%p] %q%u@%d "

SETUP = """
CREATE TABLE ledger (n integer PRIMARY KEY, note text);
INSERT INTO ledger VALUES (1, 'one'), (2, 'two'), (3, 'three');
"""

# Sent by psql over the simple protocol (with its semicolon): one `duration: N ms
# statement:` entry each, its continuation lines tab-indented in the stderr log, the
# blank line inside the literal a line holding only the tab.
SIMPLE = """SELECT n,
       note, 'first

third' AS lines
  FROM ledger
 WHERE n < 3;"""
SIMPLE_RUNS = 3

FAILING = """SELECT n
  FROM no_such_ledger
 WHERE n = 1;"""
FAILING_RUNS = 2

# Sent by pgbench over the extended protocol: parse, bind and execute are each a
# `duration:` entry carrying the statement with $1, $2; bind and execute are followed
# by their parameters (numbered in order of appearance), the first holding a newline.
PGBENCH_SCRIPT = """\\set n random(1, 3)
SELECT n,
       note, :note AS memo
  FROM ledger
 WHERE n = :n;
"""
STATEMENT = """SELECT n,
       note, $1 AS memo
  FROM ledger
 WHERE n = $2;"""
NOTE = "line one\nline two"
TRANSACTIONS = 4
PROTOCOLS = ("extended", "prepared")


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    """The server's stderr log and jsonlog of one workload."""
    if pg_server.find_bindir() is None:
        pytest.skip("PostgreSQL 15+ server binaries not installed (run .ci/start-postgres.sh)")
    server = pg_server.start_server(PREFIX, 0)
    try:
        _psql(server, SETUP)
        _psql(server, (SIMPLE + "\n") * SIMPLE_RUNS + (FAILING + "\n") * FAILING_RUNS)
        script = tmp_path_factory.mktemp("pgbench") / "ledger.sql"
        script.write_text(PGBENCH_SCRIPT, encoding="utf-8")
        for protocol in PROTOCOLS:
            done = subprocess.run(
                [str(server.bindir / "pgbench"), "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
                 "-n", "-c", "1", "-t", str(TRANSACTIONS), "-M", protocol, "-D", "note=" + NOTE,
                 "-f", str(script), "postgres"],
                capture_output=True, text=True, timeout=120, check=False,
            )
            assert done.returncode == 0, done.stderr
        server.stop()  # flushes the logging collector's files
        yield server.log_file(".log"), server.log_file(".json")
    finally:
        pg_server.remove(server)


def _psql(server, sql: str) -> None:
    done = server.psql(sql)
    assert "could not connect" not in done.stderr, done.stderr


@pytest.fixture(scope="module")
def stderr_db(logs):
    con = loganalyze.connect()
    summary = ingest([logs[0]], con, log_line_prefix=PREFIX)
    yield con, summary
    con.close()


def _kind_counts(con, statement: str) -> dict[str, int]:
    """Duration entries of one statement by what they time: `statement`, or the
    extended protocol's step and statement name (`parse <unnamed>`, `bind P_0`, ...)."""
    rows = con.execute(
        "SELECT regexp_extract(message, '^duration: [0-9.]+ ms  (statement|[a-z]+ [^:]+):', 1) AS kind, "
        "count(*) FROM postgres_logs WHERE duration_ms IS NOT NULL AND statement = $s GROUP BY kind",
        {"s": statement},
    ).fetchall()
    return dict(rows)


def test_the_stderr_query_log_is_read_whole(stderr_db):
    con, summary = stderr_db
    assert summary.files[0].format == "postgres-stderr"
    assert summary.rejected == 0
    # every duration entry has its time, its statement and its duration
    assert con.execute(
        "SELECT count(*) FROM postgres_logs WHERE starts_with(message, 'duration: ') "
        "AND (duration_ms IS NULL OR statement IS NULL OR ts IS NULL)"
    ).fetchone() == (0,)


def test_simple_protocol_statements_over_several_lines(stderr_db):
    con, _ = stderr_db
    assert _kind_counts(con, SIMPLE) == {"statement": SIMPLE_RUNS}


def test_extended_protocol_parse_bind_execute(stderr_db):
    con, _ = stderr_db
    # extended: every transaction parses, binds and executes the unnamed statement;
    # prepared: one parse of P_0 per connection, then bind and execute per transaction
    assert _kind_counts(con, STATEMENT) == {
        "parse <unnamed>": TRANSACTIONS, "bind <unnamed>": TRANSACTIONS, "execute <unnamed>": TRANSACTIONS,
        "parse P_0": 1, "bind P_0": TRANSACTIONS, "execute P_0": TRANSACTIONS,
    }


def test_parameters_stay_with_their_bind_and_execute(stderr_db):
    con, _ = stderr_db
    rows = con.execute(
        "SELECT split_part(substr(message, strpos(message, ' ms  ') + 5), ' ', 1), detail "
        "FROM postgres_logs WHERE duration_ms IS NOT NULL AND statement = $s", {"s": STATEMENT}
    ).fetchall()
    for step, detail in rows:
        if step == "parse":
            assert detail is None
        else:
            assert detail in [f"parameters: $1 = '{NOTE}', $2 = '{n}'" for n in (1, 2, 3)], (step, detail)


def test_failing_statements_keep_their_statement(stderr_db):
    con, _ = stderr_db
    rows = con.execute(
        "SELECT sqlstate, statement, duration_ms FROM postgres_logs WHERE severity = 'ERROR'"
    ).fetchall()
    assert rows == [("42P01", FAILING, None)] * FAILING_RUNS


def test_stderr_and_jsonlog_give_the_same_rows(logs, stderr_db):
    """jsonlog carries each field on its own, with no prefix or line folding to undo:
    the stderr reader must rebuild exactly its rows."""
    con, _ = stderr_db
    json_con = loganalyze.connect()
    try:
        ingest([logs[1]], json_con)
        columns = ("id", "ts", "severity", "message", "detail", "statement", "duration_ms", "user_name",
                   "database", "pid")
        query = "SELECT " + ", ".join(columns) + " FROM postgres_logs ORDER BY id"
        from_stderr = con.execute(query).fetchall()
        from_json = json_con.execute(query).fetchall()
    finally:
        json_con.close()
    assert len(from_stderr) == len(from_json)
    assert [r for r in from_stderr if r not in set(from_json)] == []
