"""The pieces of `loganalyze serve` in-process: drain bodies, the spool's crash recovery,
and the committer's exactly-once bookkeeping. The real server is driven over loopback in
test_serve.py."""

from __future__ import annotations

import asyncio
import gzip
import json
import shutil
import zlib
from pathlib import Path

import pytest

from loganalyze.errors import UsageError
from loganalyze.serve import Committer, Kind, ServeConfig, Spool, parse_drain_body
from loganalyze.serve.bodies import BodyTooLarge, decode_content
from loganalyze.serve.spool import frame, read_records
from loganalyze.store import connect

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs" / "eventlive-incident"


def drain_lines(name: str, n: int, start: int = 0) -> list[bytes]:
    with gzip.open(SAMPLE / f"{name}.drain.ndjson.gz", "rb") as fh:
        lines = fh.read().splitlines()
    return lines[start:start + n]


# ---------------------------------------------------------------------- bodies
def test_array_object_and_ndjson_bodies_become_one_array() -> None:
    lines = drain_lines("edge_logs", 3)
    as_array = parse_drain_body(b"[" + b",\n".join(lines) + b"]\n")
    as_ndjson = parse_drain_body(b"\n".join(lines[:2]) + b"\r\n\n  " + lines[2] + b"\n\n")
    as_object = parse_drain_body(lines[0])
    assert (as_array.count, as_ndjson.count, as_object.count) == (3, 3, 1)
    assert not (as_array.malformed or as_ndjson.malformed or as_object.malformed)
    for parsed in (as_array, as_ndjson):
        assert [e["id"] for e in json.loads(parsed.events)] == [json.loads(x)["id"] for x in lines]
    assert json.loads(as_object.events)[0]["id"] == json.loads(lines[0])["id"]


def test_ndjson_with_a_broken_line_keeps_the_others_and_names_the_line() -> None:
    lines = drain_lines("vercel", 4)
    body = b"\n".join([lines[0], lines[1], b'{"id": "cut', lines[2], lines[3]])
    parsed = parse_drain_body(body)
    assert parsed.count == 4 and parsed.malformed
    assert [(r.line, r.raw) for r in parsed.rejects] == [(3, '{"id": "cut')]
    assert "malformed JSON line" in parsed.rejects[0].reason


def test_truncated_array_keeps_its_complete_events() -> None:
    lines = drain_lines("edge_logs", 3)
    body = b"[" + b",".join(lines) + b"," + lines[0][:50]
    parsed = parse_drain_body(body)
    assert parsed.count == 3 and parsed.malformed
    assert len(json.loads(parsed.events)) == 3
    (reject,) = parsed.rejects
    assert reject.raw == lines[0][:50].decode() and reject.reason.startswith("malformed JSON")


@pytest.mark.parametrize("body", [b"", b"hello", b"42", b'"text"', b"[NaN]", b"[Infinity, 1]"])
def test_unreadable_bodies_are_malformed_and_kept(body: bytes) -> None:
    parsed = parse_drain_body(body)
    assert parsed.malformed and parsed.count == 0 and parsed.rejects


def test_gzip_is_undone_within_the_limit() -> None:
    body = b"[" + b",".join(drain_lines("auth_logs", 5)) + b"]"
    assert decode_content(gzip.compress(body), "gzip", len(body)) == body
    assert decode_content(zlib.compress(body), "deflate", len(body)) == body
    with pytest.raises(BodyTooLarge):
        decode_content(gzip.compress(body), "gzip", len(body) - 1)
    bomb = gzip.compress(b"[" + b" " * (64 << 20) + b"]")
    with pytest.raises(BodyTooLarge):
        decode_content(bomb, "gzip", 1 << 20)
    with pytest.raises(ValueError):
        decode_content(gzip.compress(body)[:-20], "gzip", len(body))


# ---------------------------------------------------------------------- config
def test_public_address_without_a_secret_is_refused(tmp_path: Path) -> None:
    open_config = ServeConfig(db=tmp_path / "x.duckdb", spool=tmp_path / "s", host="0.0.0.0")
    with pytest.raises(UsageError, match="without a secret"):
        open_config.validate()
    with_secret = ServeConfig(db=tmp_path / "x.duckdb", spool=tmp_path / "s", host="0.0.0.0",
                              vercel_secret="k")
    with_secret.validate()
    assert with_secret.open_drains == {"supabase": False, "vercel": True}
    assert ServeConfig(db=tmp_path / "x.duckdb", spool=tmp_path / "s").open_drains == {
        "supabase": True, "vercel": True}


# ---------------------------------------------------------------------- spool
def test_spool_cuts_a_torn_record_and_keeps_the_acknowledged_ones(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    asyncio.run(spool.append([(Kind.SUPABASE, b"[1]"), (Kind.VERCEL, b"[2]")]))
    asyncio.run(spool.append([(Kind.SUPABASE, b"[3]")]))
    (open_segment,) = (tmp_path / "spool").glob("seg-*.open")
    # a crash mid-write: half of the next record's frame reached the file
    with open_segment.open("ab") as fh:
        fh.write(frame(Kind.SUPABASE, b"[4, 5, 6]")[:-4])
    with pytest.raises(UsageError, match="in use"):
        Spool(tmp_path / "spool")
    spool._lock_fh.close()  # as if the process had died: its lock goes with it
    spool._closing = True  # stop the orphaned writer thread
    with spool._cond:
        spool._cond.notify()

    recovered = Spool(tmp_path / "spool")
    (sealed,) = recovered.sealed()
    assert [(r.kind, r.payload) for r in read_records(sealed)] == [
        (Kind.SUPABASE, b"[1]"), (Kind.VERCEL, b"[2]"), (Kind.SUPABASE, b"[3]")]
    assert recovered.backlog_bytes == sealed.stat().st_size
    recovered.close()


# ---------------------------------------------------------------------- committer
def test_a_segment_presented_twice_is_stored_once(tmp_path: Path) -> None:
    """The server killed after a commit but before removing the segment: the next start
    sees it again and must add neither rows nor rejected rows."""
    db = tmp_path / "drain.duckdb"
    spool = Spool(tmp_path / "spool")
    edge = drain_lines("edge_logs", 20)
    vercel = drain_lines("vercel", 10)
    rejects = {"drain": "vercel", "rows": [[3, "malformed JSON line: x", "{oops"]]}
    asyncio.run(spool.append([
        (Kind.SUPABASE, b"[" + b",".join(edge) + b"]"),
        (Kind.VERCEL, b"[" + b",".join(vercel) + b"]"),
        (Kind.REJECTED, json.dumps(rejects).encode()),
        (Kind.SUPABASE, b"[" + b",".join(edge[:5]) + b"]"),  # a retried delivery
    ]))
    segment = spool.seal()
    assert segment is not None
    kept = tmp_path / segment.name
    shutil.copy(segment, kept)
    committer = Committer(db, spool, every=60)
    assert committer.commit(deadline=None)
    assert spool.sealed() == [] and spool.backlog_bytes == 0

    def counts() -> tuple[int, ...]:
        con = connect(db, read_only=True)
        try:
            return con.execute(
                "SELECT (SELECT count(*) FROM edge_logs), (SELECT count(DISTINCT id) FROM edge_logs), "
                "(SELECT count(*) FROM vercel_logs), (SELECT count(*) FROM rejected_rows), "
                "(SELECT count(*) FROM ingested_files)"
            ).fetchone()  # type: ignore[return-value]
        finally:
            con.close()

    first = counts()
    assert first[:4] == (20, 20, 10, 1)
    shutil.copy(kept, segment)  # presented again
    spool._sealed_bytes += segment.stat().st_size
    assert Committer(db, spool, every=60).commit(deadline=None)
    assert counts() == first
    assert spool.sealed() == []
    spool.close()


def test_a_body_the_reader_refuses_does_not_hold_back_the_others(tmp_path: Path) -> None:
    """Bodies are checked before they are spooled; should one still be refused by the
    reader, the segment is ingested body by body and that one is kept as a rejected row."""
    db = tmp_path / "drain.duckdb"
    spool = Spool(tmp_path / "spool")
    edge = drain_lines("edge_logs", 30)
    broken = b'[{"id": "x", "timestamp": 1773309601000000, "metadata": [{"request"'
    asyncio.run(spool.append([
        (Kind.SUPABASE, b"[" + b",".join(edge[:10]) + b"]"),
        (Kind.SUPABASE, broken),
        (Kind.SUPABASE, b"[" + b",".join(edge[10:]) + b"]"),
    ]))
    notices: list[str] = []
    committer = Committer(db, spool, every=60, on_notice=notices.append)
    assert committer.commit(deadline=None)
    con = connect(db, read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT id) FROM edge_logs").fetchone() == (30, 30)
        ((file, reason, raw),) = con.execute("SELECT file, reason, raw FROM rejected_rows").fetchall()
    finally:
        con.close()
    assert raw == broken.decode() and reason.startswith("POST /drains/supabase: ")
    assert file.endswith(".supabase.2.rejected")
    assert any("one by one" in n for n in notices)
    spool.close()


def test_a_failed_write_is_cut_so_later_records_stay_readable(tmp_path: Path, monkeypatch) -> None:
    import loganalyze.serve.spool as spool_module

    spool = Spool(tmp_path / "spool")
    asyncio.run(spool.append([(Kind.SUPABASE, b"[1]")]))
    real_fdatasync = spool_module.os.fdatasync

    def disk_error(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(spool_module.os, "fdatasync", disk_error)
    with pytest.raises(OSError):
        asyncio.run(spool.append([(Kind.SUPABASE, b"[2]")]))  # not acknowledged
    monkeypatch.setattr(spool_module.os, "fdatasync", real_fdatasync)
    asyncio.run(spool.append([(Kind.VERCEL, b"[3]")]))
    segment = spool.seal()
    assert segment is not None
    assert [(r.kind, r.payload) for r in read_records(segment)] == [
        (Kind.SUPABASE, b"[1]"), (Kind.VERCEL, b"[3]")]
    spool.close()
