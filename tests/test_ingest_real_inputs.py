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

from .conftest import TEST_DATA

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




GOTRUE = TEST_DATA / "selfhosted" / "gotrue.log"
PANIC = {
    "component": "api", "level": "error", "method": "POST", "msg": "http: panic serving 172.18.0.9:41234",
    "panic": "runtime error: invalid memory address or nil pointer dereference",
    "path": "/token", "request_id": "0b7f6f0e-5c1d-4e7a-9f0a-999999999999", "time": "2026-11-20T10:00:09Z",
}


def _auth_rows(con) -> list[tuple]:
    return con.execute("SELECT * EXCLUDE (file_id) FROM auth_logs ORDER BY id").fetchall()


@pytest.mark.parametrize("shape", ["objects", "array"])
def test_gotrue_objects_pretty_printed_by_jq_give_the_rows_of_the_lines(tmp_path, shape):
    objects = [json.loads(line) for line in GOTRUE.read_text().splitlines() if line.startswith("{")] + [PANIC]
    lines = tmp_path / "auth.log"
    lines.write_text("".join(json.dumps(o, separators=(",", ":")) + "\n" for o in objects))
    pretty = tmp_path / "auth-jq.json"
    if shape == "objects":  # what `jq .` prints: each object indented over lines
        pretty.write_text("".join(json.dumps(o, indent=2) + "\n" for o in objects))
    else:  # `jq -s .`
        pretty.write_text(json.dumps(objects, indent=2) + "\n")
    from_lines, from_pretty = loganalyze.connect(), loganalyze.connect()
    ingest([lines], from_lines)
    summary = ingest([pretty], from_pretty)
    assert summary.files[0].format == "gotrue"
    assert summary.rejected == 0
    assert _auth_rows(from_pretty) == _auth_rows(from_lines)
    assert len(_auth_rows(from_pretty)) == len(objects)
    assert from_pretty.execute("SELECT error FROM auth_logs WHERE path = '/auth/v1/token' AND level = 'error'").fetchall() == [
        ("panic: " + PANIC["panic"],)
    ]
    # the pretty form and the lines of one log are one log
    again = ingest([lines], from_pretty)
    assert again.rows == 0


def test_a_truncated_pretty_printed_file_fails_naming_it(tmp_path):
    pretty = tmp_path / "cut.json"
    text = "".join(json.dumps(o, indent=2) + "\n" for o in [PANIC, PANIC])
    pretty.write_text(text[: len(text) - 20])
    with pytest.raises(InputError) as failed:
        ingest([pretty], loganalyze.connect())
    assert failed.value.file == str(pretty)


def test_hosted_auth_rows_take_the_error_text_of_their_sibling_row(shared_dir, tmp_path):
    """Studio's auth query lists a failed request as two rows: `request completed` with
    status and error_code, and a sibling row (same request_id) with the error text."""
    sample = shared_dir / "real_samples" / "006_auth_logs_rows_from_logs_api.txt"
    body = [ln for ln in sample.read_text().splitlines() if ln and not ln.startswith("#")]
    rows = tmp_path / "auth.ndjson"
    rows.write_text("\n".join(body) + "\n")
    con = loganalyze.connect()
    summary = ingest([rows], con)
    failed = con.execute(
        "SELECT request_id, status, error_code, error FROM auth_logs "
        "WHERE msg = 'request completed' AND status >= 400 ORDER BY request_id"
    ).fetchall()
    siblings = {json.loads(ln)["event_message"] for ln in body if json.loads(ln)["error"]}
    expected = sorted(
        (json.loads(e)["request_id"], json.loads(e)["error"]) for e in siblings
    )
    assert [(r[0], r[3]) for r in failed] == expected
    assert all(r[1] == 400 and r[2] == "invalid_credentials" for r in failed)
    assert any("sibling row" in note for note in summary.notes())
    # successful requests gain nothing
    assert con.execute("SELECT count(*) FROM auth_logs WHERE status < 400 AND error IS NOT NULL").fetchone() == (0,)


def test_sibling_rows_in_separate_files_still_meet(shared_dir, tmp_path):
    sample = shared_dir / "real_samples" / "006_auth_logs_rows_from_logs_api.txt"
    body = [ln for ln in sample.read_text().splitlines() if ln and not ln.startswith("#")]
    completed = [ln for ln in body if json.loads(ln)["msg"] == "request completed"]
    errors = [ln for ln in body if json.loads(ln)["error"]]
    (tmp_path / "page-1.ndjson").write_text("\n".join(errors) + "\n")
    (tmp_path / "page-2.ndjson").write_text("\n".join(completed) + "\n")
    con = loganalyze.connect()
    ingest([tmp_path / "page-1.ndjson"], con)
    ingest([tmp_path / "page-2.ndjson"], con)
    assert con.execute(
        "SELECT count(*) FROM auth_logs WHERE msg = 'request completed' AND status >= 400 AND error IS NOT NULL"
    ).fetchone() == (len(errors),)
