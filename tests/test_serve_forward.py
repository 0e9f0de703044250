"""`serve --engine chdb|clickhouse`: each commit's rows are forwarded to the engine, once.

The serve database stays the durable buffer; the engine (a chDB store here: no ClickHouse
server runs in the tests) must end up with the same rows, rejected rows included, whatever
was presented twice, interrupted, or sent while the engine was unreachable."""

from __future__ import annotations

import asyncio
import gc
import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("chdb", reason="chdb (a dev dependency) is not installed")

from typer.testing import CliRunner  # noqa: E402

from loganalyze.cli import app  # noqa: E402
from loganalyze.engines import open_engine  # noqa: E402
from loganalyze.serve import Committer, Kind, Spool  # noqa: E402
from loganalyze.serve.forward import EngineTarget  # noqa: E402
from loganalyze.store import connect  # noqa: E402

from .test_serve_units import drain_lines  # noqa: E402

TABLES = ("edge_logs", "vercel_logs", "rejected_rows", "ingested_files")


@pytest.fixture(autouse=True)
def no_in_memory_chdb_left():
    """chDB keeps one embedded engine per process: the stores these tests open on disk
    need every in-memory session of earlier tests closed, including sessions only a
    reference cycle still holds."""
    gc.collect()


def _deliveries(spool: Spool, start: int) -> None:
    edge = drain_lines("edge_logs", 30, start)
    vercel = drain_lines("vercel", 12, start)
    rejects = {"drain": "vercel", "rows": [[3, "malformed JSON line: x", "{oops"]]}
    asyncio.run(spool.append([
        (Kind.SUPABASE, b"[" + b",".join(edge) + b"]"),
        (Kind.VERCEL, b"[" + b",".join(vercel) + b"]"),
        (Kind.REJECTED, json.dumps(rejects).encode()),
        (Kind.SUPABASE, b"[" + b",".join(edge[:5]) + b"]"),  # a retried delivery
    ]))


def _duckdb_counts(db: Path) -> dict[str, int]:
    con = connect(db, read_only=True)
    try:
        return {t: con.execute("SELECT count(*) FROM " + t).fetchone()[0] for t in TABLES}
    finally:
        con.close()


def _engine_rows(store: Path) -> dict[str, list[tuple]]:
    """The engine's rows (ids of log rows, (line, reason) of rejected ones, names of files)."""
    engine = open_engine("chdb", chdb_path=str(store))
    try:
        return {
            "edge_logs": sorted(engine.execute("SELECT id FROM edge_logs").fetchall()),
            "vercel_logs": sorted(engine.execute("SELECT id FROM vercel_logs").fetchall()),
            "rejected_rows": sorted(engine.execute("SELECT line, reason FROM rejected_rows").fetchall()),
            "ingested_files": sorted(engine.execute("SELECT file FROM ingested_files").fetchall()),
        }
    finally:
        engine.close()


def _duckdb_rows(db: Path) -> dict[str, list[tuple]]:
    con = connect(db, read_only=True)
    try:
        return {
            "edge_logs": sorted(con.execute("SELECT id FROM edge_logs").fetchall()),
            "vercel_logs": sorted(con.execute("SELECT id FROM vercel_logs").fetchall()),
            "rejected_rows": sorted(con.execute("SELECT line, reason FROM rejected_rows").fetchall()),
            "ingested_files": sorted(con.execute("SELECT file FROM ingested_files").fetchall()),
        }
    finally:
        con.close()


def test_each_commit_reaches_the_engine_once(tmp_path: Path) -> None:
    db, store = tmp_path / "drain.duckdb", tmp_path / "store"
    spool = Spool(tmp_path / "spool")
    committer = Committer(db, spool, every=60, forward_to=EngineTarget("chdb", chdb_path=str(store)))
    committer.check_database()
    _deliveries(spool, 0)
    segment = spool.seal()
    assert segment is not None
    kept = tmp_path / segment.name
    shutil.copy(segment, kept)
    assert committer.commit(deadline=None)
    _deliveries(spool, 100)  # a second commit session
    assert committer.commit(deadline=None)

    stored = _duckdb_rows(db)
    assert len(stored["edge_logs"]) == 60 and len(stored["vercel_logs"]) == 24
    assert len(stored["rejected_rows"]) == 2
    assert _engine_rows(store) == stored
    assert committer.stats.forwarded == 84 and not committer.stats.forward_failing

    shutil.copy(kept, segment)  # the server was killed before removing the segment
    spool._sealed_bytes += segment.stat().st_size
    assert Committer(db, spool, every=60, forward_to=EngineTarget("chdb", chdb_path=str(store))).commit(None)
    assert _engine_rows(store) == stored == _duckdb_rows(db)
    spool.close()


def test_a_forward_cut_before_its_files_were_recorded_is_redone_without_doubling(tmp_path: Path) -> None:
    db, store = tmp_path / "drain.duckdb", tmp_path / "store"
    spool = Spool(tmp_path / "spool")
    target = EngineTarget("chdb", chdb_path=str(store))
    committer = Committer(db, spool, every=60, forward_to=target)
    _deliveries(spool, 0)
    assert committer.commit(deadline=None)
    engine = open_engine("chdb", chdb_path=str(store))
    try:  # as if killed after the log tables moved, before ingested_files did
        engine.backend.command("TRUNCATE TABLE ingested_files")
    finally:
        engine.close()
    from loganalyze.serve.forward import forward_committed

    con = connect(db)
    try:
        gained = forward_committed(con, target, str(committer.batches) + "/")
    finally:
        con.close()
    assert gained == 0
    rows = _engine_rows(store)
    stored = _duckdb_rows(db)
    for table in ("edge_logs", "vercel_logs", "ingested_files"):
        assert rows[table] == stored[table], table
    spool.close()


def test_an_unreachable_engine_delays_forwarding_and_loses_nothing(tmp_path: Path) -> None:
    db, store = tmp_path / "drain.duckdb", tmp_path / "store"
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the store should be")
    notices: list[str] = []
    spool = Spool(tmp_path / "spool")
    committer = Committer(
        db, spool, every=60, on_notice=notices.append, forward_to=EngineTarget("chdb", chdb_path=str(blocked))
    )
    _deliveries(spool, 0)
    assert committer.commit(deadline=None)
    assert committer.stats.forward_failing and committer.stats.forwarded == 0
    assert any("forwarding to" in n and "failed, will retry" in n for n in notices)
    assert _duckdb_counts(db)["edge_logs"] == 30  # accepted and stored meanwhile

    committer.forward_to = EngineTarget("chdb", chdb_path=str(store))  # the engine is back
    assert committer.commit(deadline=None)  # nothing new arrived: the engine is still caught up
    assert not committer.stats.forward_failing
    assert _engine_rows(store) == _duckdb_rows(db)
    spool.close()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--engine", "chdb"], "--chdb-path"),
        (["--engine", "clickhouse"], "--clickhouse-url"),
        (["--engine", "supabase"], "chdb or clickhouse"),
    ],
)
def test_serve_engine_options_are_checked_before_serving(tmp_path: Path, args: list[str], said: str) -> None:
    result = CliRunner().invoke(app, ["serve", "--db", str(tmp_path / "d.duckdb"), "--port", "0", *args])
    assert result.exit_code == 2
    assert said in " ".join(result.stderr.split())


def test_an_engine_that_cannot_be_opened_at_start_is_one_line_and_exit_3(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the store should be")
    for command in (
        ["serve", "--db", str(tmp_path / "d.duckdb"), "--port", "0", "--engine", "chdb", "--chdb-path", str(blocked)],
        ["ingest", str(Path(__file__).parents[1] / "sample_logs" / "realtime-outage"),
         "--engine", "chdb", "--chdb-path", str(blocked)],
        ["serve", "--db", str(tmp_path / "d.duckdb"), "--port", "0", "--engine", "clickhouse",
         "--clickhouse-url", "http://default:hunter2@127.0.0.1:1/logs"],
    ):
        result = CliRunner().invoke(app, command)
        assert result.exit_code == 3, command
        error = result.stderr
        assert "Traceback" not in error and "Stack trace" not in error
        assert "cannot open the chDB store" in error or "cannot reach ClickHouse at http://default:***@" in error
        assert "hunter2" not in error
