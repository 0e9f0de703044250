"""The write-ahead spool: accepted drain bodies on disk before they are acknowledged.

Records are appended to the open segment by one writer thread that writes every record
waiting at that moment, fsyncs once and only then resolves their futures (group commit:
one fsync covers all concurrent requests). Each record is framed with its length and a
CRC-32, so a record torn by a crash is recognised and cut off at the next start — it was
never acknowledged, since acknowledgement waits for the fsync.

Segments are named by their creation time and a counter (`seg-<utc>-<n>`), so names are
unique across restarts and sort in arrival order. The committer seals the open segment
(`.open` → `.wal`) when it is about to commit, ingests sealed segments and removes them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import fcntl
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from ..errors import UsageError

_HEADER = struct.Struct("<4sBII")  # magic, kind, payload length, crc32 of payload
_MAGIC = b"LAS1"
OPEN_SUFFIX = ".open"
SEALED_SUFFIX = ".wal"


class Kind(IntEnum):
    SUPABASE = 1
    """A JSON array of Supabase drain events."""
    VERCEL = 2
    """A JSON array of Vercel drain events."""
    REJECTED = 3
    """JSON: {"drain": ..., "rows": [[line, reason, raw], ...]} for unreadable parts."""


@dataclass(frozen=True)
class Record:
    kind: Kind
    payload: bytes


def frame(kind: Kind, payload: bytes) -> bytes:
    return _HEADER.pack(_MAGIC, int(kind), len(payload), zlib.crc32(payload)) + payload


def read_records(path: Path) -> Iterator[Record]:
    """The intact records of a segment, in order, stopping at the first torn one."""
    for record, _ in _scan(path):
        yield record


def _intact_length(path: Path) -> int:
    """Bytes of the segment up to the end of its last intact record."""
    return max((end for _, end in _scan(path)), default=0)


def _scan(path: Path) -> Iterator[tuple[Record, int]]:
    offset = 0
    with path.open("rb") as fh:
        while True:
            head = fh.read(_HEADER.size)
            if len(head) < _HEADER.size:
                return
            magic, kind, length, crc = _HEADER.unpack(head)
            if magic != _MAGIC or kind not in Kind._value2member_map_:
                return
            payload = fh.read(length)
            if len(payload) < length or zlib.crc32(payload) != crc:
                return
            offset += _HEADER.size + length
            yield Record(Kind(kind), payload), offset


class Spool:
    """Segments in `directory`; one process at a time (an exclusive lock file)."""

    def __init__(self, directory: Path, *, segment_bytes: int = 32 << 20) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_fh = (directory / "lock").open("a+")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            raise UsageError(
                f"the spool {directory} is in use by another `loganalyze serve`",
                hint="one server per database; give each its own --db (or --spool)",
            ) from None
        self._cond = threading.Condition()
        self._pending: list[tuple[list[tuple[Kind, bytes]], concurrent.futures.Future[None]]] = []
        self._seal_waiters: list[concurrent.futures.Future[Path | None]] = []
        self._closing = False
        self._fd: int | None = None
        self._open_path: Path | None = None
        self._open_size = 0
        self._counter = 0
        self._sealed_bytes = sum(p.stat().st_size for p in self.sealed())
        self._recover()
        self._thread = threading.Thread(target=self._writer, name="spool-writer", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ state
    def sealed(self) -> list[Path]:
        """Sealed segments, oldest first."""
        return sorted(self.directory.glob("seg-*" + SEALED_SUFFIX))

    @property
    def backlog_bytes(self) -> int:
        """Spooled bytes not yet committed to the database (open segment included)."""
        return self._sealed_bytes + self._open_size

    def _recover(self) -> None:
        """Segments a killed server left open: cut the torn tail, then seal them."""
        for path in sorted(self.directory.glob("seg-*" + OPEN_SUFFIX)):
            keep = _intact_length(path)
            if keep == 0:
                path.unlink()
                continue
            with path.open("r+b") as fh:
                fh.truncate(keep)
                fh.flush()
                os.fsync(fh.fileno())
            sealed = path.with_suffix(SEALED_SUFFIX)
            path.rename(sealed)
            self._sealed_bytes += keep
        self._fsync_dir()

    # ------------------------------------------------------------------ writing
    async def append(self, records: list[tuple[Kind, bytes]]) -> None:
        """Write records and return once they are on disk (fsync)."""
        await asyncio.wrap_future(self.submit(records))

    def submit(self, records: list[tuple[Kind, bytes]]) -> concurrent.futures.Future[None]:
        """Queue records for the writer thread, which frames them (the CRC is computed
        there, off the event loop) and resolves the future after the fsync."""
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        with self._cond:
            if self._closing:
                raise RuntimeError("spool closed")
            self._pending.append((records, future))
            self._cond.notify()
        return future

    def seal(self) -> Path | None:
        """Seal the open segment (after every record already submitted) and return it;
        None when nothing was written since the last seal."""
        future: concurrent.futures.Future[Path | None] = concurrent.futures.Future()
        with self._cond:
            if self._closing and not self._thread.is_alive():
                return self._seal_now()
            self._seal_waiters.append(future)
            self._cond.notify()
        return future.result()

    def remove(self, segment: Path) -> None:
        size = segment.stat().st_size
        segment.unlink()
        with self._cond:
            self._sealed_bytes -= size

    def close(self) -> None:
        """Stop the writer after what was submitted, seal the open segment, unlock."""
        with self._cond:
            self._closing = True
            self._cond.notify()
        self._thread.join()
        self._seal_now()
        self._lock_fh.close()

    def _writer(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._seal_waiters and not self._closing:
                    self._cond.wait()
                batch, self._pending = self._pending, []
                sealers, self._seal_waiters = self._seal_waiters, []
                closing = self._closing
            if batch:
                try:
                    self._write(b"".join(
                        frame(kind, payload) for records, _ in batch for kind, payload in records
                    ))
                except OSError as exc:
                    for _, future in batch:
                        future.set_exception(exc)
                else:
                    for _, future in batch:
                        future.set_result(None)
            if sealers or self._open_size >= self.segment_bytes:
                try:
                    sealed = self._seal_now()
                except OSError as exc:
                    for f in sealers:
                        f.set_exception(exc)
                else:
                    for f in sealers:
                        f.set_result(sealed)
            if closing:
                with self._cond:
                    if not self._pending:
                        return

    def _write(self, data: bytes) -> None:
        if self._fd is None:
            self._counter += 1
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
            self._open_path = self.directory / f"seg-{stamp}-{self._counter:06d}{OPEN_SUFFIX}"
            self._fd = os.open(self._open_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
            self._fsync_dir()  # the new name survives a power cut before its first ack
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
            os.fdatasync(self._fd)
        except OSError:
            # Cut what this group wrote (disk full, I/O error): records appended later
            # must not sit behind a torn one, where recovery would stop reading.
            os.ftruncate(self._fd, self._open_size)
            raise
        with self._cond:
            self._open_size += len(data)

    def _seal_now(self) -> Path | None:
        if self._fd is None or self._open_path is None:
            return None
        os.close(self._fd)
        sealed = self._open_path.with_suffix(SEALED_SUFFIX)
        self._open_path.rename(sealed)
        with self._cond:
            self._sealed_bytes += self._open_size
            self._open_size = 0
        self._fd, self._open_path = None, None
        return sealed

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
