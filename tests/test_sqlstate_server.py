"""SQLSTATE inference measured against the codes a real PostgreSQL server writes.

One throwaway PostgreSQL server logs to stderr with `%e` in log_line_prefix while it runs
(1) an incident workload that provokes each code the incident review names, for real:
deadlocks, timeouts, serialization failures, a full connection table, a wrong password;
(2) a curated subset of PostgreSQL's own regression SQL (tests/data/sqlstate/, made by
tools/build_sqlstate_regress_corpus.py): hundreds of distinct server errors. The same log
with the `%e` field cut out of every line is ingested again, so its codes are inferred
from the messages; both ingests are compared row by row.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import loganalyze
from loganalyze.ingest import ingest

from . import pg_server

pytestmark = pytest.mark.postgres

PREFIX_WITH_CODE = "%m [%p] %e "
PREFIX = "%m [%p] "
CORPUS = Path(__file__).parent / "data" / "sqlstate" / "regress_errors.sql"
SECTION = "-- regress file: "
INCIDENT_CODES = ("42703", "42P01", "42883", "23505", "23503", "23502", "42501", "57014",
                  "40001", "40P01", "53300", "25P02", "28P01")
MIN_HIT_RATE = 0.95

SETUP = """
ALTER SYSTEM SET deadlock_timeout = '100ms';
CREATE ROLE attendee LOGIN;
CREATE ROLE wrong_password LOGIN PASSWORD 'right';
SELECT pg_reload_conf();
CREATE EXTENSION dblink;
CREATE TABLE webinars (id integer PRIMARY KEY);
CREATE TABLE registrations (
    webinar_id integer NOT NULL REFERENCES webinars,
    user_id    integer NOT NULL,
    PRIMARY KEY (webinar_id, user_id)
);
INSERT INTO webinars VALUES (1), (2);
INSERT INTO registrations VALUES (1, 1), (2, 1);
"""

# Every statement here fails with one incident code; a second session, where one is
# needed, is a dblink connection driven step by step from this one (no timing races).
INCIDENT_WORKLOAD = """
SELECT registrations.id FROM registrations;
SELECT * FROM registration;
SELECT webinar_count(1);
INSERT INTO registrations VALUES (1, 1);
INSERT INTO registrations VALUES (9, 1);
DELETE FROM webinars WHERE id = 2;
INSERT INTO registrations VALUES (1, NULL);
SET ROLE attendee;
SELECT * FROM registrations;
RESET ROLE;
SET statement_timeout = '50ms';
SELECT pg_sleep(2);
RESET statement_timeout;
BEGIN;
SELECT * FROM registration;
SELECT 1;
ROLLBACK;
-- 40001: this session's snapshot predates the other session's committed update
SELECT dblink_connect('other', 'host=127.0.0.1 port=' || current_setting('port') || ' user=postgres dbname=postgres');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) FROM registrations;
SELECT dblink_exec('other', 'UPDATE registrations SET user_id = 2 WHERE webinar_id = 1');
UPDATE registrations SET user_id = 3 WHERE webinar_id = 1;
ROLLBACK;
-- 40P01: each session holds one row and asks for the other's
BEGIN;
UPDATE webinars SET id = id WHERE id = 1;
SELECT dblink_exec('other', 'BEGIN');
SELECT dblink_exec('other', 'UPDATE webinars SET id = id WHERE id = 2');
SELECT dblink_send_query('other', 'UPDATE webinars SET id = id WHERE id = 1');
UPDATE webinars SET id = id WHERE id = 2;
ROLLBACK;
SELECT * FROM dblink_get_result('other') AS r(status text);
SELECT dblink_exec('other', 'ROLLBACK');
SELECT dblink_disconnect('other');
-- 28P01
SELECT dblink_connect('host=127.0.0.1 port=' || current_setting('port') || ' user=wrong_password password=wrong dbname=postgres');
-- 53300: connections until the server has no slot left
DO $$
BEGIN
    FOR i IN 1..25 LOOP
        PERFORM dblink_connect('slot' || i, 'host=127.0.0.1 port=' || current_setting('port') || ' user=attendee dbname=postgres');
    END LOOP;
END $$;
"""

LINE_CODE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ \[\d+\] )[0-9A-Z]{5} ", re.M)


def _psql(server: pg_server.PgServer, sql: str, database: str = "postgres", application: str = "psql") -> None:
    done = subprocess.run(
        [str(server.bindir / "psql"), "-X", "-q", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
         "-d", database, "-v", "ON_ERROR_STOP=0", "-f", "-"],
        input=sql, capture_output=True, text=True, timeout=120, check=False,
        env=dict(os.environ, PGAPPNAME=application),
    )
    assert done.returncode != 2, done.stderr  # psql's own connection failed


def _require_password(server: pg_server.PgServer) -> None:
    """pg_hba.conf: the role `wrong_password` must give a password over TCP."""
    hba = server.data_dir / "pg_hba.conf"
    stat = hba.stat()
    hba.write_text("host all wrong_password 127.0.0.1/32 scram-sha-256\n" + hba.read_text(), encoding="utf-8")
    os.chown(hba, stat.st_uid, stat.st_gid)


@pytest.fixture(scope="module")
def server_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if pg_server.find_bindir() is None:
        pytest.skip("PostgreSQL 15+ server binaries not installed (run .ci/start-postgres.sh)")
    server = pg_server.start_server(PREFIX_WITH_CODE, 1_000_000)
    try:
        _require_password(server)
        _psql(server, SETUP)
        _psql(server, INCIDENT_WORKLOAD)
        _psql(server, "CREATE DATABASE regression")
        sections = CORPUS.read_text(encoding="utf-8").split("\n" + SECTION)[1:]
        for section in sections:
            name, sql = section.split("\n", 1)
            _psql(server, sql, database="regression", application=name)
        server.stop()  # flushes the logging collector
        kept = tmp_path_factory.mktemp("sqlstate") / "pg.log"
        kept.write_bytes(server.log_file(".log").read_bytes())
    finally:
        pg_server.remove(server)
    return kept


@pytest.fixture(scope="module")
def compared(server_log: Path):
    """Rows of ERROR/FATAL entries: (severity, logged code, inferred code, inferred flag, message)."""
    without_code = server_log.with_name("pg-without-e.log")
    without_code.write_text(LINE_CODE.sub(r"\1", server_log.read_text(encoding="utf-8")), encoding="utf-8")
    logged = loganalyze.connect()
    ingest([server_log], logged, log_line_prefix=PREFIX_WITH_CODE)
    inferred = loganalyze.connect()
    ingest([without_code], inferred, log_line_prefix=PREFIX)
    query = ("SELECT id, severity, sqlstate, sqlstate_inferred, message FROM postgres_logs "
             "WHERE severity IN ('ERROR', 'FATAL')")
    truth = logged.execute(query).fetchall()
    guessed = {r[0]: r for r in inferred.execute(query).fetchall()}
    assert len(guessed) == len(truth)
    rows = [(t[1], t[2], guessed[t[0]][2], guessed[t[0]][3], t[4], t[3]) for t in truth]
    logged.close()
    inferred.close()
    return rows


def test_the_log_holds_hundreds_of_distinct_errors(compared):
    assert len({r[4] for r in compared}) >= 500
    # the server wrote each code itself: none of them was inferred
    assert not any(r[5] for r in compared)
    assert all(r[1] for r in compared)


def test_hit_rate_on_real_server_errors(compared):
    hits = [r for r in compared if r[2] == r[1]]
    by_message: dict[str, bool] = {}
    for r in compared:
        by_message[r[4]] = by_message.get(r[4], True) and r[2] == r[1]
    line_rate = len(hits) / len(compared)
    message_rate = sum(by_message.values()) / len(by_message)
    misses = sorted({(r[1], r[2], r[4][:100]) for r in compared if r[2] != r[1]})
    print(f"\nSQLSTATE inference on {len(compared):,} ERROR/FATAL lines of a real PostgreSQL 15 server: "
          f"{line_rate:.1%} right; {len(by_message):,} distinct messages: {message_rate:.1%} right")
    for logged, guessed, message in misses[:40]:
        print(f"  logged {logged}, inferred {guessed}: {message}")
    assert line_rate >= MIN_HIT_RATE
    assert message_rate >= MIN_HIT_RATE


def test_every_line_with_a_code_is_marked_inferred(compared):
    for _, _, code, flag, message, _ in compared:
        assert flag == (code is not None), message


@pytest.mark.parametrize("code", INCIDENT_CODES)
def test_incident_codes_always_right(compared, code):
    rows = [r for r in compared if r[1] == code]
    assert rows, f"the workload raised no {code}"
    wrong = [(r[2], r[4]) for r in rows if r[2] != code]
    assert not wrong
