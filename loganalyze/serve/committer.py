"""Moving spooled events into the database, a batch at a time.

The server never keeps the database open: on a cadence the committer opens it, seals the
open spool segment, ingests each sealed segment with the ordinary readers
(`loganalyze.ingest.ingest`, one transaction per batch file: dedupe by id, rejected rows
kept), closes it, and only then removes the segments. Between commits other processes
(`report`, `query`, ...) can open the file. When one of them holds it, opening fails and
the committer tries again with backoff; the spool keeps the data meanwhile.

Exactly once: each batch file is named after its segment, and `ingested_files` records
that name in the same transaction as the rows. A segment presented again (the server was
killed after a commit but before removing it) skips the batches already recorded, so no
row and no rejected row is stored twice.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ..errors import LogAnalyzeError
from ..store import connect, transaction
from .forward import EngineTarget, forward_committed
from .spool import Kind, Spool, read_records

FORMAT_OF = {Kind.SUPABASE: "supabase-json", Kind.VERCEL: "vercel"}
DRAIN_OF = {Kind.SUPABASE: "supabase", Kind.VERCEL: "vercel"}
REJECTS_FORMAT = "drain-rejects"

BACKOFF_FIRST = 0.05
BACKOFF_MAX = 1.0
HOLD_SECONDS = 1.0
"""A commit session starts no new segment after holding the database this long."""
READER_GAP_SECONDS = 0.3
"""Pause between sessions of a backlog: longer than a waiting reader's poll (0.2 s in
store.connect), so readers are not locked out while a backlog is worked off."""


@dataclass
class CommitStats:
    commits: int = 0
    rows: int = 0
    duplicates: int = 0
    rejected: int = 0
    last_commit_at: float | None = None
    last_commit_seconds: float = 0.0
    waiting_since: float | None = None
    """When the committer began waiting for the database (another process holds it)."""
    last_notice: str | None = None
    forwarded: int = 0
    """Log rows forwarded to the engine of `serve --engine` (not counting ids it held)."""
    forward_failing: bool = False


class Committer:
    def __init__(
        self,
        db: Path,
        spool: Spool,
        *,
        every: float,
        memory_limit: str | None = None,
        on_notice: Callable[[str], None] | None = None,
        forward_to: EngineTarget | None = None,
    ) -> None:
        self.db = db
        self.forward_to = forward_to
        self.spool = spool
        self.every = every
        self.memory_limit = memory_limit
        self.on_notice = on_notice or (lambda _msg: None)
        self.stats = CommitStats()
        self.batches = spool.directory / "batches"
        shutil.rmtree(self.batches, ignore_errors=True)  # derived files a crash left behind
        self.batches.mkdir(parents=True, exist_ok=True)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ thread
    def check_database(self) -> None:
        """Open the database once before serving: it is created with its schema (so
        readers find it from the start), and a path that cannot hold a database fails
        now, not after deliveries were acknowledged."""
        connect(self.db).close()
        if self.forward_to is not None:
            self.forward_to.open().close()  # an engine that cannot be reached fails at start
        left = self.spool.sealed()
        if left:
            self._notice(
                f"{len(left)} spool segment(s) left by the previous run "
                f"({self.spool.backlog_bytes / 1e6:,.1f} MB): committing them first"
            )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="committer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self.commit(deadline=None)
            except Exception as exc:  # keep serving; the spool still holds the data
                self._notice(f"commit failed, will retry: {exc}")

    def stop(self, timeout: float) -> bool:
        """Stop the cadence, then commit everything spooled, trying for `timeout`
        seconds. True when the spool is empty afterwards."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        try:
            deadline = time.monotonic() + timeout
            # the second round takes the open segment, sealed once no sealed one is left
            if self.commit(deadline) and self.spool.backlog_bytes:
                self.commit(deadline)
        except Exception as exc:
            self._notice(f"final commit failed: {exc}")
        return not self.spool.sealed() and self.spool.backlog_bytes == 0

    # ------------------------------------------------------------------ one commit
    def commit(self, deadline: float | None) -> bool:
        """Ingest everything spooled: seal the open segment, then commit sealed segments
        in sessions that hold the database for about HOLD_SECONDS each, with a gap
        between sessions in which waiting readers get the file. False when the database
        stayed unavailable until `deadline` (or the committer is stopping)."""
        if not self.spool.sealed():
            self.spool.seal()
        while self.spool.sealed():
            if not self._session(deadline):
                return False
            if self.spool.sealed():
                time.sleep(READER_GAP_SECONDS)
        if self.stats.forward_failing:  # nothing new arrived, but the engine owes rows
            con = self._open(deadline)
            if con is not None:
                try:
                    self._forward(con)
                finally:
                    con.close()
        return True

    def _session(self, deadline: float | None) -> bool:
        con = self._open(deadline)
        if con is None:
            return False
        started = time.perf_counter()
        done: list[Path] = []
        try:
            for segment in self.spool.sealed():
                self._commit_segment(con, segment)
                done.append(segment)
                if time.perf_counter() - started >= HOLD_SECONDS:
                    break
            self._forward(con)
        finally:
            con.close()
            for segment in done:
                self.spool.remove(segment)
            for leftover in self.batches.iterdir():
                leftover.unlink(missing_ok=True)
        self.stats.commits += 1
        self.stats.last_commit_at = time.time()
        self.stats.last_commit_seconds = time.perf_counter() - started
        return True

    def _open(self, deadline: float | None) -> duckdb.DuckDBPyConnection | None:
        delay = BACKOFF_FIRST
        while True:
            try:
                # No wait inside connect: the backoff here honours the shutdown
                # deadline and reports a busy database once, not once per attempt.
                con = connect(self.db, lock_timeout=0)
            except LogAnalyzeError as exc:
                if self.stats.waiting_since is None:
                    self.stats.waiting_since = time.monotonic()
                    self._notice(f"database busy, spooling meanwhile: {exc.message}")
                if deadline is not None and time.monotonic() + delay > deadline:
                    return None
                if deadline is None and self._stop.is_set():
                    return None
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            if self.stats.waiting_since is not None:
                waited = time.monotonic() - self.stats.waiting_since
                self.stats.waiting_since = None
                self._notice(f"database free again after {waited:.1f} s; committing the backlog")
            return con

    def _commit_segment(self, con: duckdb.DuckDBPyConnection, segment: Path) -> None:
        name = segment.name.removesuffix(segment.suffix)
        committed = self._committed_names(con, name)
        outputs = {kind: self.batches / f"{name}.{DRAIN_OF[kind]}.json" for kind in FORMAT_OF}
        handles = {kind: path.open("wb") for kind, path in outputs.items()}
        counts = dict.fromkeys(FORMAT_OF, 0)
        rejects: list[tuple[str, int | None, str, str]] = []
        try:
            for record in read_records(segment):
                if record.kind is Kind.REJECTED:
                    doc = json.loads(record.payload)
                    rejects += [(doc["drain"], line, reason, raw) for line, reason, raw in doc["rows"]]
                    continue
                inner = record.payload.strip()[1:-1].strip()
                if not inner:
                    continue
                fh = handles[record.kind]
                fh.write(b",\n" if counts[record.kind] else b"[")
                fh.write(inner)
                counts[record.kind] += 1
        finally:
            for kind, fh in handles.items():
                if counts[kind]:
                    fh.write(b"]\n")
                fh.close()
        for kind, path in outputs.items():
            if counts[kind] and str(path) not in committed:
                self._ingest_batch(con, kind, path, segment)
        rejects_name = str(self.batches / f"{name}.rejected")
        if rejects and rejects_name not in committed:
            self._store_rejects(con, rejects_name, rejects)

    def _forward(self, con: duckdb.DuckDBPyConnection) -> None:
        """Copy what the database holds and the engine does not (see forward.py); an
        engine that fails is tried again at the next session, the rows wait in the
        database meanwhile."""
        if self.forward_to is None:
            return
        try:
            self.stats.forwarded += forward_committed(con, self.forward_to, str(self.batches) + "/")
        except Exception as exc:  # the engine is down or refused: the database keeps the rows
            if not self.stats.forward_failing:
                self._notice(f"forwarding to {self.forward_to.where} failed, will retry: {exc}")
            self.stats.forward_failing = True
        else:
            if self.stats.forward_failing:
                self._notice(f"forwarding to {self.forward_to.where} works again")
            self.stats.forward_failing = False

    def _committed_names(self, con: duckdb.DuckDBPyConnection, segment_name: str) -> set[str]:
        prefix = str(self.batches / segment_name) + "."
        rows = con.execute(
            "SELECT file FROM ingested_files WHERE starts_with(file, $prefix)", {"prefix": prefix}
        ).fetchall()
        return {r[0] for r in rows}

    def _ingest_batch(self, con: duckdb.DuckDBPyConnection, kind: Kind, path: Path, segment: Path) -> None:
        from ..ingest import ingest

        try:
            summary = ingest([path], con, fmt=FORMAT_OF[kind], memory_limit=self.memory_limit)
        except LogAnalyzeError as exc:
            # A batch the reader refuses as a whole (it should not happen: bodies were
            # checked before they were accepted). Fall back to one body at a time, so one
            # bad body cannot hold back the others; a body refused alone is kept as a
            # rejected row.
            self._notice(f"{path.name}: {exc.message}; ingesting its bodies one by one")
            self._ingest_one_by_one(con, kind, segment)
            return
        self._count(summary.rows, summary.duplicates, summary.rejected)

    def _ingest_one_by_one(self, con: duckdb.DuckDBPyConnection, kind: Kind, segment: Path) -> None:
        from ..ingest import ingest

        name = segment.name.removesuffix(segment.suffix)
        committed = self._committed_names(con, name)
        number = 0
        for record in read_records(segment):
            if record.kind is not kind:
                continue
            number += 1
            path = self.batches / f"{name}.{DRAIN_OF[kind]}.{number}.json"
            rejected_name = str(path.with_suffix(".rejected"))
            if str(path) in committed or rejected_name in committed:
                continue
            path.write_bytes(record.payload)
            try:
                summary = ingest([path], con, fmt=FORMAT_OF[kind], memory_limit=self.memory_limit)
            except LogAnalyzeError as exc:
                raw = record.payload.decode("utf-8", errors="replace")
                self._store_rejects(con, rejected_name, [(DRAIN_OF[kind], None, exc.message, raw)])
            else:
                self._count(summary.rows, summary.duplicates, summary.rejected)
            finally:
                path.unlink(missing_ok=True)

    def _store_rejects(
        self, con: duckdb.DuckDBPyConnection, name: str, rows: list[tuple[str, int | None, str, str]]
    ) -> None:
        """Unreadable parts of drain bodies, kept in rejected_rows under one
        ingested_files entry (the name makes the insert happen once)."""
        with transaction(con):
            (file_id,) = con.execute("SELECT nextval('ingested_file_ids')").fetchone()  # type: ignore[misc]
            con.execute(
                "INSERT INTO ingested_files VALUES ($file_id, $file, '', $format, NULL, 0, 0, "
                "$rejected, NULL, NULL, now(), NULL)",
                {"file_id": file_id, "file": name, "format": REJECTS_FORMAT, "rejected": len(rows)},
            )
            con.executemany(
                "INSERT INTO rejected_rows VALUES ($file_id, $file, $line, $reason, $raw)",
                [
                    {"file_id": file_id, "file": name, "line": line,
                     "reason": f"POST /drains/{drain}: {reason}", "raw": raw}
                    for drain, line, reason, raw in rows
                ],
            )
        self._count(0, 0, len(rows))

    def _count(self, rows: int, duplicates: int, rejected: int) -> None:
        self.stats.rows += rows
        self.stats.duplicates += duplicates
        self.stats.rejected += rejected

    def _notice(self, message: str) -> None:
        self.stats.last_notice = message
        self.on_notice(message)
