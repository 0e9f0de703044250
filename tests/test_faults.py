"""Faults from outside: `kill -9` and Ctrl-C at random points of an ingest, a disk that
fills up, outputs that cannot be written. Each ends in a clear exit code and leaves the
database holding exactly what it held before (and a re-run exact).

The disk-full and read-only cases mount a small tmpfs, which needs root; elsewhere they
skip saying so."""

from __future__ import annotations

import gzip
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from loganalyze import connect
from loganalyze.store import LOG_TABLES

from .conftest import REPO, TEST_DATA

EVENTS = TEST_DATA / "hosted" / "events.ndjson"
KILL_POINTS = 6
SIGINT_POINTS = 4


def _loganalyze(*args: str, env: dict[str, str] | None = None, **popen) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "loganalyze", *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def fingerprint(db: Path) -> dict[str, object]:
    """What the database holds: rows and an order-free hash of the ids per table, the
    rejected rows, and which files (by content) were ingested; a re-run of a file that
    is already in adds a line to ingested_files but nothing here."""
    con = connect(db, read_only=True)
    try:
        out: dict[str, object] = {
            table: con.execute(f"SELECT count(*), coalesce(sum(hash(id)), 0) FROM {table}").fetchall()[0]
            for table in LOG_TABLES
        }
        out["rejected_rows"] = con.execute("SELECT count(*) FROM rejected_rows").fetchall()[0]
        out["files"] = con.execute("SELECT list(DISTINCT sha256 ORDER BY sha256) FROM ingested_files").fetchall()[0]
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def workload(tmp_path_factory) -> Path:
    """A gzipped drain of ~36,000 distinct rows: long enough to interrupt at several
    stages (decompression, sniffing, staging, inserting, committing)."""
    lines = EVENTS.read_text(encoding="utf-8").splitlines()
    path = tmp_path_factory.mktemp("faults") / "drain.ndjson.gz"
    with gzip.open(path, "wt", compresslevel=1, encoding="utf-8") as out:
        for copy in range(4000):
            for line in lines:
                out.write(line.replace('"id":"', f'"id":"c{copy}-') + "\n")
    return path


@pytest.fixture
def seeded_db(tmp_path) -> Path:
    db = tmp_path / "logs.duckdb"
    proc = _loganalyze("ingest", str(TEST_DATA / "selfhosted" / "gotrue.log"), "--db", str(db))
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return db


def _full_run_seconds(workload: Path, tmp_path: Path) -> tuple[float, dict[str, object]]:
    """One uninterrupted ingest into a copy: how long it runs (to spread the faults
    over it) and what a clean run stores."""
    db = tmp_path / "reference.duckdb"
    proc = _loganalyze("ingest", str(TEST_DATA / "selfhosted" / "gotrue.log"), "--db", str(db))
    proc.communicate(timeout=300)
    started = time.monotonic()
    proc = _loganalyze("ingest", str(workload), "--db", str(db))
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return time.monotonic() - started, fingerprint(db)


def test_kill_9_at_random_points_leaves_the_database_as_before(workload, seeded_db, tmp_path):
    duration, complete = _full_run_seconds(workload, tmp_path)
    before = fingerprint(seeded_db)
    rng = random.Random(14)
    outcomes = []
    for delay in sorted(rng.uniform(0.05, duration) for _ in range(KILL_POINTS)):
        proc = _loganalyze("ingest", str(workload), "--db", str(seeded_db))
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        state = fingerprint(seeded_db)
        # killed before its commit: as before; a kill that came after it: complete
        assert state in (before, complete), f"kill after {delay:.2f}s left a partial ingest"
        outcomes.append(state == before)
        if state == complete:
            break
    assert outcomes and outcomes[0], "the first kill should land before the commit"
    rerun = _loganalyze("ingest", str(workload), "--db", str(seeded_db))
    _out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert fingerprint(seeded_db) == complete


def test_sigint_prints_interrupted_exits_130_and_cleans_up(workload, seeded_db, tmp_path):
    duration, _complete = _full_run_seconds(workload, tmp_path)
    before = fingerprint(seeded_db)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    rng = random.Random(130)
    interrupted = 0
    for delay in sorted(rng.uniform(0.3, max(0.4, duration * 0.7)) for _ in range(SIGINT_POINTS)):
        proc = _loganalyze("ingest", str(workload), "--db", str(seeded_db), env={"TMPDIR": str(tmp)})
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            break  # finished before the signal came
        assert proc.returncode == 130, err
        assert err.strip().splitlines()[-1] == "interrupted"
        assert "Traceback" not in err
        assert fingerprint(seeded_db) == before
        assert not list(tmp.glob(f"loganalyze-{proc.pid}-*")), "temporary files left behind"
        interrupted += 1
    assert interrupted >= 1


# --------------------------------------------------------------------------- mounts


def _mount_tmpfs(where: Path, options: str, purpose: str) -> Path:
    if os.geteuid() != 0:
        pytest.skip(f"mounting {purpose} needs root")
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    return where


@pytest.fixture
def small_disk(tmp_path):
    """A 6 MB tmpfs, mounted for the test (root only)."""
    mount = _mount_tmpfs(tmp_path / "small-disk", "size=6m", "a small tmpfs to fill up")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.fixture
def read_only_dir(tmp_path):
    """A read-only tmpfs (root bypasses file permissions, not a read-only mount)."""
    mount = _mount_tmpfs(tmp_path / "read-only", "ro,size=1m", "a read-only tmpfs")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def _one_line_error(proc: subprocess.Popen, *needles: str, code: int = 3) -> None:
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == code, err
    assert "Traceback" not in err
    errors = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, err
    for needle in needles:
        assert needle in errors[0], err


def test_disk_full_during_ingest_is_exit_3_and_the_database_as_before(workload, small_disk, tmp_path):
    db = small_disk / "logs.duckdb"
    seed = _loganalyze("ingest", str(EVENTS), "--db", str(db))
    assert seed.wait(timeout=300) == 0
    before = fingerprint(db)
    _one_line_error(_loganalyze("ingest", str(workload), "--db", str(db)), "disk full", str(db))
    assert fingerprint(db) == before
    # the same database still takes a small ingest afterwards
    again = _loganalyze("ingest", str(TEST_DATA / "selfhosted" / "gotrue.log"), "--db", str(db))
    _out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err


def test_disk_full_while_decompressing_is_exit_3(workload, small_disk, tmp_path):
    db = tmp_path / "logs.duckdb"
    _one_line_error(
        _loganalyze("ingest", str(workload), "--db", str(db), env={"TMPDIR": str(small_disk)}),
        "disk full",
    )
    assert list(small_disk.iterdir()) == []


def test_unwritable_outputs_on_a_read_only_mount(read_only_dir):
    dod = REPO / "sample_logs" / "eventlive.dod.toml"
    cases = [
        ("report", str(EVENTS), "--format", "markdown", "--out", str(read_only_dir / "r.md")),
        ("report", str(EVENTS), "--out", str(read_only_dir / "r.txt")),
        ("check", str(dod), str(EVENTS), "--junit", str(read_only_dir / "dod.xml")),
        ("synth", "incident", "--users", "20", "--minutes", "1", "--out", str(read_only_dir / "replay")),
        ("ingest", str(EVENTS), "--db", str(read_only_dir / "x.duckdb")),
    ]
    for args in cases:
        _one_line_error(_loganalyze(*args), str(read_only_dir))
