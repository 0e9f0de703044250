"""Every Postgres log the project has is stored exactly as by a reference commit.

The Postgres readers get rewritten for speed; a rewrite must store the same rows. Each
input below (pgBadger's corpus of real logs, the real samples of kind postgres_logs, the
bundled replays' Postgres logs, the reader fixtures) is ingested alone into a fresh
database, and every stored row of postgres_logs and rejected_rows is reduced to a digest
(rows sorted, times as epoch microseconds, nothing that depends on where the file lies).
tests/data/postgres_rows_digest.json holds the digests and the commit that produced them;
it changes only when what a reader stores changes on purpose.

    python -m tests.test_ingest_postgres_equivalence --write [COMMIT]   # regenerate
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "data" / "postgres_rows_digest.json"


def _shared() -> Path:
    from .conftest import SHARED

    return SHARED


def _sample_body(path: Path) -> str:
    """A real sample without its provenance header (`# source:`, `# kind:`, ...)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return "\n".join(ln for ln in lines if not ln.startswith("# ")) + "\n"


def _real_sample(prefix: str, wrap: Callable[[str], str] = lambda body: body, name: str = "sample.log"):
    """A real sample's body written where the ingest reads it (`wrap` turns a quoted
    message into the log line the server writes)."""

    def make(tmp: Path) -> Path:
        src = next((_shared() / "real_samples").glob(prefix + "_*"))
        out = tmp / name
        out.write_text(wrap(_sample_body(src)), encoding="utf-8")
        return out

    return make


def _cron_line(body: str) -> str:
    (line,) = [ln for ln in body.splitlines() if ln.strip()]
    return " 2026-11-20 10:00:00.000 UTC [901] " + line + "\n"


def _file(*parts: str, shared: bool = False):
    def make(tmp: Path) -> Path:
        return (_shared() if shared else REPO).joinpath(*parts)

    return make


_PGBADGER = (
    "anonymize.log", "begin_end.log", "cloudsql.log.gz", "cnpg.log.gz",
    "csv_statement_without_duration.log", "light.postgres.log.bz2", "multiline_param.log",
    "pg-timezones.log", "pg_rawcsv.log", "pg_vacuums.json.gz", "pg_vacuums.log.gz",
    "postgresql_param_range.log", "queryid.log.gz", "rds.log.bz2", "stmt_type.log",
    "tempfile_only.log.gz", "weeknumber.log",
)
_FIXTURES = (
    "compose.log", "crlf.log", "cron.log", "csvlog24.csv", "csvlog26.csv", "interleaved.log",
    "jsonlog.json", "repeated.log", "timezones.log", "unknown_prefix.log", "with_sqlstate.log",
)
# every kind of stderr line the reader tells apart, written for this test: a preamble,
# orphan continuation and section lines, lines that do not fit the prefix, interleaved
# backends, repeated entries, unknown and numeric zones, CRLF then LF line ends; and a
# generic prefix whose free text carries user/db/app/client
_EDGE_CASES = ("stderr_edge_cases.log", "stderr_generic_prefix.log")

# name -> (needs ../shared, makes the file to ingest in a temporary directory)
INPUTS: dict[str, tuple[bool, Callable[[Path], Path]]] = {
    **{f"pgbadger/{n}": (True, _file("peer_corpora", "pgbadger", n, shared=True)) for n in _PGBADGER},
    "real_samples/010": (True, _real_sample("010", name="hosted.ndjson")),
    "real_samples/022": (True, _real_sample("022")),
    "real_samples/029": (True, _real_sample("029", _cron_line)),
    "sample_logs/eventlive-incident-selfhosted/supabase-db.log.gz": (
        False, _file("sample_logs", "eventlive-incident-selfhosted", "supabase-db.log.gz")),
    "sample_logs/eventlive-incident/postgres_logs.drain.ndjson.gz": (
        False, _file("sample_logs", "eventlive-incident", "postgres_logs.drain.ndjson.gz")),
    **{f"tests/data/postgres/{n}": (False, _file("tests", "data", "postgres", n)) for n in _FIXTURES},
    **{f"tests/data/postgres_equivalence/{n}": (False, _file("tests", "data", "postgres_equivalence", n))
       for n in _EDGE_CASES},
}


def _digest(rows: list[tuple]) -> str:
    text = "\x1e".join("\x1f".join(repr(v) for v in row) for row in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def stored_rows_digest(path: Path) -> dict[str, object]:
    """Counts and digests of what ingesting `path` alone stores."""
    import loganalyze
    from loganalyze.ingest import ingest

    con = loganalyze.connect()
    try:
        summary = ingest([path], con)
        logs = con.execute(
            "SELECT * EXCLUDE (ts, file_id), epoch_us(ts) AS ts_us FROM postgres_logs ORDER BY ALL"
        ).fetchall()
        rejected = con.execute(
            "SELECT line, reason, raw FROM rejected_rows ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    return {
        "format": summary.files[0].format,
        "rows": len(logs),
        "rejected": len(rejected),
        "postgres_logs": _digest(logs),
        "rejected_rows": _digest(rejected),
    }


def _reference() -> dict:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(INPUTS))
def test_postgres_rows_are_those_of_the_reference_commit(name, tmp_path, request):
    needs_shared, make = INPUTS[name]
    if needs_shared:
        request.getfixturevalue("shared_dir")  # skips, saying why, where ../shared is missing
    reference = _reference()
    assert name in reference["inputs"], "input list and tests/data/postgres_rows_digest.json out of step"
    got = stored_rows_digest(make(tmp_path))
    assert got == reference["inputs"][name], (
        f"{name}: stored rows differ from those of commit {reference['commit']} "
        "(regenerate only when the change is meant: python -m tests.test_ingest_postgres_equivalence --write)"
    )


def test_reference_lists_every_input():
    assert sorted(_reference()["inputs"]) == sorted(INPUTS)


def test_every_input_stores_something():
    """A digest of nothing would pass whatever the reader does."""
    for name, entry in _reference()["inputs"].items():
        assert entry["rows"] + entry["rejected"] > 0, name
    edge = _reference()["inputs"]["tests/data/postgres_equivalence/stderr_edge_cases.log"]
    assert edge["rows"] > 0 and edge["rejected"] > 0


@pytest.mark.parametrize(("name", "chunk_lines"), [
    ("sample_logs/eventlive-incident-selfhosted/supabase-db.log.gz", 1000),
    ("tests/data/postgres_equivalence/stderr_edge_cases.log", 7),
])
def test_stderr_staged_in_small_chunks_stores_the_same_rows(name, chunk_lines, tmp_path, monkeypatch):
    """Big files are staged in chunks of lines; entries whose lines straddle a chunk
    boundary (a STATEMENT logged after other backends' lines) keep all of them."""
    from loganalyze.ingest import postgres

    monkeypatch.setattr(postgres, "STAGE_CHUNK_LINES", chunk_lines)
    got = stored_rows_digest(INPUTS[name][1](tmp_path))
    assert got == _reference()["inputs"][name]


def _write(commit: str | None) -> None:
    import tempfile

    if not _shared().is_dir():
        raise SystemExit(f"reference corpora not found at {_shared()}")
    head = commit or subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in sorted(INPUTS):
            work = Path(tmp) / name.replace("/", "_")
            work.mkdir()
            out[name] = stored_rows_digest(INPUTS[name][1](work))
            print(name, out[name]["format"], out[name]["rows"], out[name]["rejected"])
    REFERENCE.write_text(json.dumps({"commit": head, "inputs": out}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"]:
        raise SystemExit(__doc__)
    _write(sys.argv[2] if len(sys.argv) > 2 else None)
