"""pg_cron run history pasted from psql's expanded display (`\\x`), as a real psql prints
it (ASCII and unicode borders, a command spanning lines, NULLs), gives the rows the CSV
export of the same table gives."""

from __future__ import annotations

import subprocess

import pytest

import loganalyze
from loganalyze.ingest import ingest

from . import pg_server

pytestmark = pytest.mark.postgres

# cron.job_run_details as pg_cron creates it (pg_cron--1.2--1.3.sql), with runs of each
# kind: succeeded, failed with a libpq error, a run that never started (no times), a
# command of several lines.
SETUP = """
CREATE SCHEMA cron;
CREATE TABLE cron.job_run_details (
    jobid bigint, runid bigint PRIMARY KEY, job_pid integer, database text, username text,
    command text, status text, return_message text, start_time timestamptz, end_time timestamptz
);
INSERT INTO cron.job_run_details VALUES
 (3, 1001, 4120, 'postgres', 'postgres', 'select refresh_leaderboard()', 'succeeded', 'SELECT 1',
  '2026-11-20 17:00:00.011+00', '2026-11-20 17:00:00.019+00'),
 (3, 1002, 4133, 'postgres', 'postgres', 'select refresh_leaderboard()', 'failed',
  'ERROR:  column "score" does not exist', '2026-11-20 17:01:00.010+00', '2026-11-20 17:01:00.300+00'),
 (5, 1003, NULL, 'postgres', 'postgres', 'vacuum analyze registrations', 'failed', 'connection failed', NULL, NULL),
 (7, 1004, 4150, 'postgres', 'postgres', E'delete from sessions\\n where expires_at < now()', 'succeeded',
  'DELETE 12', '2026-11-20 17:02:00.005+00', '2026-11-20 17:02:01.250+00');
"""
QUERY = "select * from cron.job_run_details order by runid"


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    if pg_server.find_bindir() is None:
        pytest.skip("PostgreSQL 15+ server binaries not installed (run .ci/start-postgres.sh)")
    server = pg_server.start_server("%m [%p] ", 10_000)
    out = tmp_path_factory.mktemp("cron")
    try:
        assert server.psql(SETUP).returncode == 0
        files = {}
        for name, options in {
            "expanded-ascii.txt": ["-x"],
            "expanded-unicode.txt": ["-x", "-P", "linestyle=unicode", "-P", "border=2"],
            "runs.csv": ["--csv"],
        }.items():
            done = subprocess.run(
                [str(server.bindir / "psql"), "-X", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres",
                 "-d", "postgres", *options, "-c", QUERY],
                capture_output=True, text=True, check=True,
            )
            (out / name).write_text(done.stdout)
            files[name] = out / name
        yield files
    finally:
        pg_server.remove(server)


def _runs(path):
    con = loganalyze.connect()
    summary = ingest([path], con)
    rows = con.execute("SELECT * EXCLUDE (file_id) FROM cron_runs ORDER BY runid").fetchall()
    con.close()
    return summary, rows


@pytest.mark.parametrize("name", ["expanded-ascii.txt", "expanded-unicode.txt"])
def test_expanded_display_gives_the_rows_of_the_csv_export(exports, name):
    _, from_csv = _runs(exports["runs.csv"])
    summary, rows = _runs(exports[name])
    assert summary.files[0].format == "pg-cron"
    assert summary.rejected == 0
    assert rows == from_csv
    assert len(rows) == 4
    con = loganalyze.connect()
    ingest([exports[name]], con)
    assert con.execute("SELECT command FROM cron_runs WHERE runid = 1004").fetchone() == (
        "delete from sessions\n where expires_at < now()",
    )
    assert con.execute("SELECT ts, start_time FROM cron_runs WHERE runid = 1003").fetchone() == (None, None)
