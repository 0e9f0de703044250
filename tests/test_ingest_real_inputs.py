"""Inputs real users have every day: standard input, a failed first ingest, GoTrue JSON
pretty-printed by jq, psql's expanded output of cron.job_run_details, hosted auth rows
whose error text sits on a sibling row of the same request."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

import loganalyze
from loganalyze.errors import InputError
from loganalyze.ingest import ingest

PG_LINES = (
    "2026-11-20 09:00:01.100 UTC [4101] authenticator@postgres ERROR:  column registrations.id does not exist\n"
    "2026-11-20 09:00:01.100 UTC [4101] authenticator@postgres STATEMENT:  SELECT id FROM registrations\n"
    "2026-11-20 09:00:02.000 UTC [77] LOG:  checkpoint starting: time\n"
)


def test_dash_reads_standard_input_like_the_file(tmp_path):
    log = tmp_path / "db.log"
    log.write_text(PG_LINES)
    from_file = loganalyze.connect()
    ingest([log], from_file)
    from_stdin = loganalyze.connect()
    summary = ingest(["-"], from_stdin, stdin=io.BytesIO(PG_LINES.encode()))
    assert summary.files[0].file == "<stdin>"
    query = "SELECT * EXCLUDE (file_id) FROM postgres_logs ORDER BY id"
    assert from_stdin.execute(query).fetchall() == from_file.execute(query).fetchall()
    assert from_stdin.execute("SELECT file FROM ingested_files").fetchall() == [("<stdin>",)]


def test_cli_reads_a_pipe(tmp_path):
    db = tmp_path / "piped.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "loganalyze", "ingest", "-", "--db", str(db), "--json"],
        input=PG_LINES, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tables"]["postgres_logs"]["rows"] == 2


@pytest.mark.parametrize("bad", ["missing", "malformed"])
def test_a_failed_ingest_leaves_no_new_database_file(tmp_path, bad):
    target = tmp_path / "missing.log"
    if bad == "malformed":
        target = tmp_path / "broken.json"
        target.write_text('[{"id": "a", "timestamp": 1, "event_message": "x"}, {"id": ')
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "loganalyze", "ingest", str(target)],
        cwd=work, capture_output=True, text=True, check=False,
    )
    assert done.returncode == 3, done.stderr
    assert str(target) in done.stderr
    assert "Traceback" not in done.stderr
    assert list(work.iterdir()) == []


def test_a_failed_ingest_into_an_existing_database_keeps_it(tmp_path):
    db = tmp_path / "kept.duckdb"
    log = tmp_path / "db.log"
    log.write_text(PG_LINES)
    ok = subprocess.run([sys.executable, "-m", "loganalyze", "ingest", str(log), "--db", str(db)],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr
    failed = subprocess.run([sys.executable, "-m", "loganalyze", "ingest", str(tmp_path / "nope"), "--db", str(db)],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 3
    con = loganalyze.connect(db, read_only=True)
    assert con.execute("SELECT count(*) FROM postgres_logs").fetchone() == (2,)
    con.close()


def test_terminal_standard_input_is_refused_with_a_hint():
    class Terminal(io.BytesIO):
        def isatty(self) -> bool:
            return True

    with pytest.raises(InputError, match="standard input is a terminal"):
        ingest(["-"], loganalyze.connect(), stdin=Terminal())


