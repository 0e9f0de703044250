"""The ingest machinery shared by every format: the format registry, sniffing, the
per-file context that format readers stage rows through, and the all-or-nothing run.

A format reader turns one plain file into SQL that yields normalized rows for a target
table plus three bookkeeping columns, and hands it to `FileContext.stage`:

    _line    BIGINT   line or row number in the file (for rejected rows)
    _reject  VARCHAR  NULL for a good row, else why it cannot be normalized
    _raw     VARCHAR  the row's original text (kept only for rejected rows)

`stage` then keeps rejected rows in `rejected_rows`, merges rows whose id the table
already holds into the stored row (re-ingest, overlapping export pages, a partial export
then the full one, the same Postgres event from stderr and csvlog: columns the stored
row lacks are filled, so the richer value wins per column), and inserts the rest. Rows
without a usable `ts` are rejected centrally, so no reader can drop them silently.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

import duckdb

from ..errors import InputError, UsageError
from ..store import LOG_TABLES, quote_ident, transaction
from . import sqlstate
from .files import (
    ENCODING_HINT,
    INVALID_BYTE_MARK,
    Sample,
    TextFile,
    expand_paths,
    plain_file,
    sha256_of,
    spool_stdin,
    take_sample,
    utf8_text,
    work_directory,
)

BOOKKEEPING_COLUMNS = ("_line", "_reject", "_raw")


@dataclass(frozen=True)
class IngestOptions:
    source: str | None = None
    """Force the target table for rows whose source cannot be told (hosted exports)."""
    strict: bool = False
    """Any rejected row fails the whole ingest."""
    log_line_prefix: str | None = None
    """Postgres `log_line_prefix` of stderr logs, when sniffing should not guess it."""
    reference_date: dt.date | None = None
    """Date for logs that carry only a time of day (Realtime container lines)."""
    reject_before: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    """Rows dated earlier are implausible: kept in rejected_rows, not stored."""
    max_future: dt.timedelta = dt.timedelta(days=1)
    """Rows dated more than this after the ingest are implausible (a clock set to 9999
    must not make a report span eight thousand years)."""
    encoding: str | None = None
    """The inputs' text encoding when it is not UTF-8 (they are transcoded first)."""


@dataclass(frozen=True)
class LogFormat:
    name: str
    description: str
    sniff: Callable[[Sample], int]
    """Confidence 0..100 that the sample is this format (0 = certainly not)."""
    load: Callable[[FileContext], None]
    tables: tuple[str, ...]
    """Tables this format can write."""
    example: str = ""


_REGISTRY: dict[str, LogFormat] = {}


def register(fmt: LogFormat) -> LogFormat:
    if fmt.name in _REGISTRY:
        raise ValueError(f"format registered twice: {fmt.name}")
    _REGISTRY[fmt.name] = fmt
    return fmt


def formats() -> list[LogFormat]:
    return list(_REGISTRY.values())


def get_format(name: str) -> LogFormat:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UsageError(
            f"unknown format {name!r}",
            hint="known formats: " + ", ".join(sorted(_REGISTRY)),
        ) from None


def _scores(sample: Sample) -> list[tuple[int, str]]:
    return sorted(((fmt.sniff(sample), fmt.name) for fmt in _REGISTRY.values()), reverse=True)


def _without_deep_lines(sample: Sample) -> Sample:
    """The sample without the lines nested too deep for Python's json module (a
    hostile row ~1000 levels deep): the rows around them still tell the format, and
    DuckDB's readers, which have no such limit, read the row itself."""

    def shallow(line: str) -> bool:
        try:
            json.loads(line)
        except RecursionError:
            return False
        except ValueError:
            pass
        return True

    lines = tuple(ln for ln in sample.lines if shallow(ln))
    return replace(sample, text="\n".join(lines) + "\n", lines=lines, complete=sample.complete)


def sniff_sample(sample: Sample, display: str) -> LogFormat:
    try:
        scored = _scores(sample)
    except RecursionError:
        sample = _without_deep_lines(sample)
        try:
            scored = _scores(sample)
        except RecursionError:
            raise InputError(
                "JSON nested too deep to tell its format",
                hint="force a reader with --format NAME",
                file=display,
            ) from None
    if not scored or scored[0][0] <= 0:
        _raise_if_malformed_json(sample, display)
        first = sample.lines[0][:120] if sample.lines else ""
        raise InputError(
            "unknown log format" + (f" (first line: {first!r})" if first else ""),
            hint="see `loganalyze formats` for what can be read; force a reader with "
            "--format NAME",
            file=display,
        )
    return _REGISTRY[scored[0][1]]


def _raise_if_malformed_json(sample: Sample, display: str) -> None:
    """A file that looks like JSON but matches no reader is usually broken JSON: say
    where, rather than "unknown format"."""
    if sample.first_char not in "[{":
        return
    text = sample.text.lstrip("\ufeff")
    try:
        json.loads(text)
    except RecursionError:
        return
    except json.JSONDecodeError as whole:
        if not sample.complete and whole.pos >= len(text) - 1:
            return  # only cut by the sample's end
        try:  # newline-delimited JSON is many documents, not one
            for line in sample.lines:
                json.loads(line)
        except RecursionError:
            return
        except json.JSONDecodeError:
            raise InputError(
                f"malformed JSON: {whole.msg} (column {whole.colno})",
                hint="the file is not valid JSON; export it again",
                file=display,
                line=whole.lineno + sample.first_line - 1,
            ) from None


@dataclass
class TableResult:
    rows: int = 0
    """Rows inserted."""
    duplicates: int = 0
    """Rows the table already held, adding nothing to them."""
    rejected: int = 0
    min_ts: dt.datetime | None = None
    max_ts: dt.datetime | None = None
    merged: int = 0
    """Rows the table already held (same event) that gained values they lacked."""

    def merge(self, other: TableResult) -> None:
        self.rows += other.rows
        self.duplicates += other.duplicates
        self.merged += other.merged
        self.rejected += other.rejected
        self.min_ts = _earliest((self.min_ts, other.min_ts))
        self.max_ts = _latest((self.max_ts, other.max_ts))


@dataclass
class FileResult:
    file: str
    format: str
    sha256: str
    tables: dict[str, TableResult] = field(default_factory=dict)
    rejected_unrouted: int = 0
    notes: list[str] = field(default_factory=list)
    empty: bool = False

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables.values())

    @property
    def duplicates(self) -> int:
        return sum(t.duplicates for t in self.tables.values())

    @property
    def merged(self) -> int:
        return sum(t.merged for t in self.tables.values())

    @property
    def rejected(self) -> int:
        return sum(t.rejected for t in self.tables.values()) + self.rejected_unrouted

    @property
    def min_ts(self) -> dt.datetime | None:
        return _earliest(t.min_ts for t in self.tables.values())

    @property
    def max_ts(self) -> dt.datetime | None:
        return _latest(t.max_ts for t in self.tables.values())


@dataclass
class IngestSummary:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def duplicates(self) -> int:
        return sum(f.duplicates for f in self.files)

    @property
    def merged(self) -> int:
        return sum(f.merged for f in self.files)

    def by_table(self) -> dict[str, TableResult]:
        out: dict[str, TableResult] = {}
        for f in self.files:
            for table, result in f.tables.items():
                out.setdefault(table, TableResult()).merge(result)
        return dict(sorted(out.items()))

    def notes(self) -> list[str]:
        return [f"{f.file}: {note}" for f in self.files for note in f.notes]

    def to_dict(self) -> dict[str, Any]:
        def iso(v: dt.datetime | None) -> str | None:
            return v.isoformat() if v else None

        return {
            "rows": self.rows,
            "duplicates": self.duplicates,
            "merged": self.merged,
            "rejected": self.rejected,
            "seconds": round(self.seconds, 3),
            "tables": {
                t: {
                    "rows": r.rows,
                    "duplicates": r.duplicates,
                    "merged": r.merged,
                    "rejected": r.rejected,
                    "min_ts": iso(r.min_ts),
                    "max_ts": iso(r.max_ts),
                }
                for t, r in self.by_table().items()
            },
            "files": [
                {
                    "file": f.file,
                    "format": f.format,
                    "rows": f.rows,
                    "duplicates": f.duplicates,
                    "merged": f.merged,
                    "rejected": f.rejected,
                    "empty": f.empty,
                    "notes": f.notes,
                }
                for f in self.files
            ],
        }


class FileContext:
    """What a format reader gets for one file."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        *,
        path: Path,
        display: str,
        file_id: int,
        sample: Sample,
        options: IngestOptions,
        result: FileResult,
    ) -> None:
        self.con = con
        self.path = path
        self.display = display
        self.file_id = file_id
        self.sample = sample
        self.options = options
        self.result = result

    @property
    def sql_path(self) -> str:
        """The plain file's path, to bind as a parameter of DuckDB's readers."""
        return str(self.path)

    def note(self, text: str) -> None:
        if text not in self.result.notes:
            self.result.notes.append(text)

    def fail(self, message: str, hint: str | None = None, line: int | None = None) -> InputError:
        return InputError(message, hint, file=self.display, line=line)

    def stage(
        self,
        table: str,
        select_sql: str,
        params: Sequence[Any] | dict[str, Any] | None = None,
        *,
        unique_ids: bool = False,
        defer: bool = False,
        lines_from: int | None = None,
    ) -> TableResult:
        """Insert normalized rows yielded by `select_sql` into `table` (see module doc).

        `unique_ids=True` says the reader's ids cannot repeat within this file (content
        hashes with an occurrence index), which spares a sort of the staged rows; exports
        with their own ids (drains may deliver a row twice) keep the default.

        `defer=True`: the select also yields `_defer BOOLEAN`; rows marked so belong to
        another table and are set aside, with their `_raw` text, in the temp table
        `_la_deferred (_line, _raw)` for the reader to route (one pass over a file whose
        rows are nearly all of one table).

        `lines_from=N`: the select yields `_line` NULL, and its rows are numbered N, N+1, ...
        in the order it yields them (the order they are stored in), so that the select
        runs on every thread: `row_number() OVER ()` holds its whole pipeline to one. The
        caller keeps preserve_insertion_order on."""
        if table not in LOG_TABLES:
            raise ValueError(f"not a log table: {table}")
        con = self.con
        try:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _la_stage AS SELECT * REPLACE ("
                "CASE WHEN " + _MARKED_BYTES + " THEN '" + INVALID_UTF8_REASON + "' ELSE "
                + _IMPLAUSIBLE_TS + " END AS _reject, "
                "CASE " + ("WHEN _defer THEN _raw " if defer else "")
                + "WHEN " + _MARKED_BYTES + " THEN " + _MARKS_AS_ESCAPES + " "
                "WHEN _reject IS NOT NULL OR ts IS NULL OR " + _OUTSIDE_PLAUSIBLE + " THEN _raw END AS _raw"
                ") FROM (" + select_sql + ")",
                params or [],
            )
        except (duckdb.Error, UnicodeDecodeError) as exc:
            raise self._reader_error(exc) from None
        if lines_from is not None:
            con.execute(
                "UPDATE _la_stage SET _line = rowid - (SELECT min(rowid) FROM _la_stage) + $first",
                {"first": lines_from},
            )
        if defer:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _la_deferred AS "
                "SELECT _line, _raw FROM _la_stage WHERE _defer"
            )
        staged_cols = [r[0] for r in con.execute("DESCRIBE _la_stage").fetchall()]
        table_cols = table_columns(con, table)
        bookkeeping = (*BOOKKEEPING_COLUMNS, "_defer") if defer else BOOKKEEPING_COLUMNS
        if sqlstate.FROM_COLUMN in staged_cols:
            sqlstate.infer_staged(con, "_la_stage", flag="sqlstate_inferred" in staged_cols)
            bookkeeping = (*bookkeeping, sqlstate.FROM_COLUMN)
        unknown = [c for c in staged_cols if c not in table_cols and c not in bookkeeping]
        if unknown or not set(bookkeeping) <= set(staged_cols):
            raise ValueError(f"{table}: staged columns {unknown} unknown or bookkeeping missing")
        data_cols = [c for c in staged_cols if c in table_cols and c != "file_id"]
        needs_ts = table != "cron_runs"
        broken = "(_reject IS NOT NULL" + (" OR ts IS NULL)" if needs_ts else ")")
        mine = "NOT _defer AND " if defer else ""
        bad = "(" + mine + broken + ")"
        good = "(" + mine + "NOT " + broken + ")"
        con.execute(
            "INSERT INTO rejected_rows SELECT $file_id, $file, _line, "
            "coalesce(_reject, 'no usable timestamp'), _raw FROM _la_stage WHERE " + bad,
            {"file_id": self.file_id, "file": self.display},
        )
        stats = con.execute(
            "SELECT count(*) FILTER (WHERE " + good + "), count(*) FILTER (WHERE " + bad + "), "
            "min(ts) FILTER (WHERE " + good + "), max(ts) FILTER (WHERE " + good + ") "
            "FROM _la_stage"
        ).fetchone()
        assert stats is not None
        good_rows, rejected, min_ts, max_ts = stats
        if not unique_ids:
            # Counting distinct ids (a hash aggregate) is much cheaper than the sort that
            # removes repeats; most exports have none.
            (repeats,) = con.execute(
                "SELECT count(id) - count(DISTINCT id) FROM _la_stage WHERE " + good
            ).fetchone()  # type: ignore[misc]
            unique_ids = repeats == 0
        target = quote_ident(table)
        merged = _merge_into_stored(con, table, data_cols, good, unique_ids)
        col_list = ", ".join("s." + quote_ident(c) for c in data_cols)
        stored = "_la_stored_ids" if merged is not None else None
        inserted_row = con.execute(
            "INSERT INTO " + target + " BY NAME SELECT " + col_list + ", $file_id AS file_id "
            "FROM _la_stage s WHERE " + good
            + (" AND s.id NOT IN (SELECT id FROM " + stored + ")" if stored else "")
            + ("" if unique_ids else " QUALIFY row_number() OVER (PARTITION BY s.id ORDER BY s._line) = 1"),
            {"file_id": self.file_id},
        ).fetchone()
        con.execute("DROP TABLE _la_stage")
        con.execute("DROP TABLE IF EXISTS _la_stored_ids")
        inserted = int(inserted_row[0]) if inserted_row else 0
        result = TableResult(
            rows=inserted,
            duplicates=int(good_rows) - inserted - (merged or 0),
            merged=merged or 0,
            rejected=int(rejected),
            min_ts=min_ts,
            max_ts=max_ts,
        )
        self.result.tables.setdefault(table, TableResult()).merge(result)
        if self.options.strict and rejected:
            first = con.execute(
                "SELECT line, reason FROM rejected_rows WHERE file_id = ? ORDER BY line LIMIT 1",
                [self.file_id],
            ).fetchone()
            line, reason = first if first else (None, "rejected")
            raise InputError(
                f"{rejected} row(s) could not be normalized; first: {reason}",
                hint="--strict turns rejected rows into a failure; without it they are kept "
                "in the rejected_rows table",
                file=self.display,
                line=line,
            )
        return result

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> duckdb.DuckDBPyConnection:
        """Run reader SQL; a reader error (malformed JSON, broken CSV quote) names the file."""
        try:
            return self.con.execute(sql, params or [])
        except (duckdb.Error, UnicodeDecodeError) as exc:
            raise self._reader_error(exc) from None

    def _reader_error(self, exc: duckdb.Error | UnicodeDecodeError) -> InputError:
        if isinstance(exc, UnicodeDecodeError):
            # DuckDB quoted the malformed bytes in its message, which Python cannot decode
            return self.fail("malformed input (a reader stopped at bytes that are not valid text)",
                             hint="the file is malformed or truncated; export it again")
        message = _first_line(exc).replace(str(self.path), self.display)
        message = re.sub(r"^(Invalid Input|Conversion|Binder) Error: ", "", message)
        return self.fail(message, hint=_reader_hint(exc))

    def reject_rows(self, select_sql: str, params: dict[str, Any] | None = None) -> int:
        """Keep rows that belong to no table (yielding _line, _reject, _raw) as rejected."""
        row = self.execute(
            "INSERT INTO rejected_rows SELECT $file_id, $file, _line, _reject, _raw FROM ("
            + select_sql
            + ")",
            {"file_id": self.file_id, "file": self.display, **(params or {})},
        ).fetchone()
        n = int(row[0]) if row else 0
        self.result.rejected_unrouted += n
        if self.options.strict and n:
            raise InputError(
                f"{n} row(s) belong to no known log source",
                hint="pass --source TABLE to say which table they belong to",
                file=self.display,
            )
        return n


# Columns a merge never changes: the row's identity, its time and the file it came from.
_UNMERGED_COLUMNS = frozenset({"id", "ts", "file_id"})

# Where the richer value is more than "a value where the stored row had none": a
# SQLSTATE the log carried beats one inferred from the message text.
_CARRIED_SQLSTATE = "(t.sqlstate_inferred AND s.sqlstate IS NOT NULL AND NOT s.sqlstate_inferred)"
_MERGE_RULES: dict[str, dict[str, str]] = {
    "postgres_logs": {
        "sqlstate": "CASE WHEN " + _CARRIED_SQLSTATE + " THEN s.sqlstate ELSE coalesce(t.sqlstate, s.sqlstate) END",
        "sqlstate_inferred": "CASE WHEN t.sqlstate IS NULL THEN s.sqlstate_inferred WHEN " + _CARRIED_SQLSTATE
        + " THEN false ELSE t.sqlstate_inferred END",
    },
}


def _merge_into_stored(
    con: duckdb.DuckDBPyConnection, table: str, data_cols: Sequence[str], good: str, unique_ids: bool
) -> int | None:
    """Merge staged rows whose id the table already holds into the stored rows: each
    column the stored row lacks is filled from the staged one (a partial export stored
    first, the full download of the same rows later; a stderr line, then the csvlog
    entry of the same event). Leaves their ids in `_la_stored_ids` and returns how many
    stored rows gained a value; None when the table is empty (nothing to merge into,
    the common first ingest, which then skips the lookup altogether)."""
    target = quote_ident(table)
    (any_stored,) = con.execute("SELECT EXISTS (SELECT 1 FROM " + target + ")").fetchone()  # type: ignore[misc]
    if not any_stored:
        return None
    (overlap,) = con.execute(
        "CREATE OR REPLACE TEMP TABLE _la_stored_ids AS SELECT DISTINCT s.id FROM _la_stage s "
        "WHERE " + good + " AND s.id IN (SELECT id FROM " + target + ")"
    ).fetchone()  # type: ignore[misc]
    if not overlap:
        return 0
    rules = _MERGE_RULES.get(table, {})
    columns = [c for c in data_cols if c not in _UNMERGED_COLUMNS and not c.startswith("_")]
    sets, gains = [], []
    for c in columns:
        col = quote_ident(c)
        if c in rules:
            sets.append(col + " = " + rules[c])
            gains.append("(" + rules[c] + ") IS DISTINCT FROM t." + col)
        else:
            sets.append(col + " = coalesce(t." + col + ", s." + col + ")")
            gains.append("(t." + col + " IS NULL AND s." + col + " IS NOT NULL)")
    if not sets:
        return 0
    picked = ", ".join("s." + quote_ident(c) for c in columns)
    (merged,) = con.execute(
        "UPDATE " + target + " AS t SET " + ", ".join(sets) + " FROM (SELECT s.id, " + picked
        + " FROM _la_stage s WHERE " + good + " AND s.id IN (SELECT id FROM _la_stored_ids)"
        + ("" if unique_ids else " QUALIFY row_number() OVER (PARTITION BY s.id ORDER BY s._line) = 1")
        + ") AS s WHERE t.id = s.id AND (" + " OR ".join(gains) + ")"
    ).fetchone()  # type: ignore[misc]
    return int(merged)


INVALID_UTF8_REASON = "invalid UTF-8 (bytes shown as \\xNN)"

# A row of a repaired JSON document (files.utf8_text; la_utf8_marked is set per file)
# that holds a byte which was not UTF-8: rejected, its raw text showing the byte as \xNN.
_MARKED_BYTES = (
    "(coalesce(getvariable('la_utf8_marked'), false) AND coalesce(contains(_raw, chr("
    + str(ord(INVALID_BYTE_MARK)) + ")), false))"
)
_MARKS_AS_ESCAPES = (
    "regexp_replace(_raw, chr(" + str(ord(INVALID_BYTE_MARK)) + ") || '([0-9a-f]{2})', '\\\\x\\1', 'g')"
)

# A row dated outside [la_ts_floor, la_ts_ceiling] (session variables, bound per ingest
# by _plausible_range) is rejected with its timestamp in the reason.
_OUTSIDE_PLAUSIBLE = (
    "coalesce(ts < getvariable('la_ts_floor') OR ts > getvariable('la_ts_ceiling'), false)"
)
_IMPLAUSIBLE_TS = (
    "CASE WHEN _reject IS NULL AND " + _OUTSIDE_PLAUSIBLE + " THEN 'implausible timestamp ' "
    "|| strftime(ts, '%Y-%m-%dT%H:%M:%SZ') || ' (outside ' "
    "|| strftime(getvariable('la_ts_floor'), '%Y-%m-%d') || ' .. ' "
    "|| strftime(getvariable('la_ts_ceiling'), '%Y-%m-%dT%H:%MZ') "
    "|| '; see ingest --reject-before/--max-future)' ELSE _reject END"
)


def _plausible_range(con: duckdb.DuckDBPyConnection, options: IngestOptions) -> None:
    ceiling = dt.datetime.now(dt.UTC) + options.max_future
    con.execute(
        "SET VARIABLE la_ts_floor = CAST($floor AS TIMESTAMPTZ)", {"floor": options.reject_before}
    )
    con.execute("SET VARIABLE la_ts_ceiling = CAST($ceiling AS TIMESTAMPTZ)", {"ceiling": ceiling})


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = ? AND table_schema = 'main' ORDER BY ordinal_position",
            [table],
        ).fetchall()
    ]


install_macros = sqlstate.install_macros
"""SQL helpers every reader may use (temporary: they live with the connection)."""


ProgressCallback = Callable[[str, int, int], None]
"""progress(file display name, bytes done so far, total bytes)"""


def ingest(
    paths: Iterable[str | os.PathLike[str]],
    con: duckdb.DuckDBPyConnection,
    *,
    source: str | None = None,
    fmt: str | None = None,
    strict: bool = False,
    log_line_prefix: str | None = None,
    reference_date: dt.date | None = None,
    progress: ProgressCallback | None = None,
    memory_limit: str | None = None,
    stdin: BinaryIO | None = None,
    reject_before: dt.datetime | str | None = None,
    max_future: dt.timedelta | str | None = None,
    encoding: str | None = None,
) -> IngestSummary:
    """Read log exports into the database, all or nothing.

    Formats are sniffed from content; a file that cannot be read as a whole raises
    InputError (naming the file) and leaves the database exactly as before. Rows that
    parse but cannot be normalized are kept in `rejected_rows` and counted; with
    `strict=True` any of them fails the ingest.

    A path `-` reads standard input (or `stdin`, a binary stream), shown as `<stdin>`.

    Memory is bounded by `memory_limit` (else $LOGANALYZE_MEMORY_LIMIT, else 1.5GB):
    beyond it DuckDB spills to a temporary directory instead of growing, so an export
    of many GB ingests in bounded memory.
    """
    if source is not None and source not in LOG_TABLES:
        raise UsageError(f"unknown source {source!r}", hint="one of: " + ", ".join(LOG_TABLES))
    forced = get_format(fmt) if fmt else None
    options = IngestOptions(
        source=source,
        strict=strict,
        log_line_prefix=log_line_prefix,
        reference_date=reference_date,
        encoding=encoding,
        **plausible_options(reject_before, max_future),
    )
    summary = IngestSummary()
    started = time.perf_counter()
    with work_directory() as workdir:
        given, shown = spool_stdin(paths, workdir, stdin)
        files = expand_paths(given)
        _ingest_files(con, files, shown, forced, options, workdir, summary, progress, memory_limit)
    summary.seconds = time.perf_counter() - started
    return summary


def _ingest_files(
    con: duckdb.DuckDBPyConnection,
    files: list[Path],
    shown: dict[Path, str],
    forced: LogFormat | None,
    options: IngestOptions,
    workdir: Path,
    summary: IngestSummary,
    progress: ProgressCallback | None,
    memory_limit: str | None,
) -> None:
    total = sum(p.stat().st_size for p in files)
    done = 0
    install_macros(con)
    _plausible_range(con, options)
    poller = _ProgressPoller(con, progress, total) if progress else None
    with _memory_budget(con, memory_limit), transaction(con):
        for path in files:
            display = shown.get(path, str(path))
            size = path.stat().st_size
            if poller:
                poller.start_file(display, done, size)
            summary.files.append(_ingest_file(con, path, display, forced, options, workdir))
            done += size
            if poller:
                poller.finish_file(done)
    if poller:
        poller.stop()


# DuckDB holds this much and spills the rest; the process as a whole stays under 2 GB.
DEFAULT_MEMORY_LIMIT = "1.5GB"
MEMORY_ENV_VAR = "LOGANALYZE_MEMORY_LIMIT"


@contextmanager
def _memory_budget(con: duckdb.DuckDBPyConnection, limit: str | None) -> Iterator[None]:
    """Run the ingest under a memory limit (DuckDB spills beyond it), then restore the
    connection's own limit (see store.connect)."""
    from ..store import memory_setting, restore_memory_limit

    budget = memory_setting(limit or os.environ.get(MEMORY_ENV_VAR) or DEFAULT_MEMORY_LIMIT)
    con.execute("SET memory_limit = '" + budget + "'")
    try:
        yield
    finally:
        restore_memory_limit(con)


class _ProgressPoller:
    """Reports progress inside a large file too, from DuckDB's own query progress (read
    from another thread while the reader's statement runs); never goes backwards."""

    def __init__(self, con: duckdb.DuckDBPyConnection, progress: ProgressCallback, total: int) -> None:
        self.con, self.progress, self.total = con, progress, total
        self.file, self.base, self.size, self.reported = "", 0, 0, 0
        self.stopped = threading.Event()
        try:  # query_progress() reports only with the bar enabled (never printed)
            con.execute("SET enable_progress_bar = true")
            con.execute("SET enable_progress_bar_print = false")
        except duckdb.InvalidInputException:
            pass  # inside Jupyter without ipywidgets: progress per file only
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def start_file(self, display: str, done: int, size: int) -> None:
        self.file, self.base, self.size = display, done, size
        self.floor, self.fraction, self.last_pct = 0.0, 0.0, 0.0
        self._report(done)

    def finish_file(self, done: int) -> None:
        self._report(done)

    def _report(self, done: int) -> None:
        if done >= self.reported:
            self.reported = done
            self.progress(self.file, done, self.total)

    def _run(self) -> None:
        while not self.stopped.wait(0.25):
            try:
                pct = self.con.query_progress()
            except duckdb.Error:
                continue
            if not pct or pct <= 0:
                continue
            # A file takes several statements, each counting 0..100 %: every new statement
            # advances over half of what remains, so the bar moves on and never overshoots.
            if pct < self.last_pct:
                self.floor = self.fraction
            self.last_pct = pct
            self.fraction = self.floor + (1.0 - self.floor) * 0.5 * min(pct, 100.0) / 100.0
            self._report(self.base + int(self.size * self.fraction))

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()


class _DigestAlongside:
    """sha256_of(path), taken on a thread of its own while the file is read (hashlib
    releases the GIL): the digest is only stored with the results, so a pass over the
    file just for it need not come first."""

    def __init__(self, path: Path) -> None:
        self._digest: str | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._take, args=(path,), daemon=True)
        self._thread.start()

    def _take(self, path: Path) -> None:
        try:
            self._digest = sha256_of(path)
        except BaseException as exc:  # re-raised in the reading thread by value()
            self._error = exc

    def value(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._digest is not None
        return self._digest


def _ingest_file(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    display: str,
    forced: LogFormat | None,
    options: IngestOptions,
    workdir: Path,
) -> FileResult:
    digest = _DigestAlongside(path)
    with (
        plain_file(path, workdir) as decompressed,
        utf8_text(decompressed, workdir, display, options.encoding) as text_file,
    ):
        plain = text_file.path
        sample = take_sample(plain, display)
        (file_id,) = con.execute("SELECT nextval('ingested_file_ids')").fetchone()  # type: ignore[misc]
        if not sample.text.strip() or _empty_export(sample):
            result = FileResult(file=display, format="empty", sha256="", empty=True)
            result.notes.append(
                "empty export (no rows): nothing to ingest"
                if sample.text.strip()
                else "empty file: nothing to ingest"
            )
            _reject_invalid_utf8(con, file_id, display, text_file, result, options)
        else:
            fmt = forced or sniff_sample(sample, display)
            result = FileResult(file=display, format=fmt.name, sha256="")
            ctx = FileContext(
                con,
                path=plain,
                display=display,
                file_id=file_id,
                sample=sample,
                options=options,
                result=result,
            )
            _reject_invalid_utf8(con, file_id, display, text_file, result, options)
            con.execute("SET VARIABLE la_utf8_marked = $marked", {"marked": bool(text_file.repaired_lines)})
            fmt.load(ctx)
            con.execute("RESET VARIABLE la_utf8_marked")
            if text_file.repaired_lines:
                _check_marked_rows_rejected(con, file_id, display, text_file, result, options)
    for table, counted in sorted(result.tables.items()):
        if counted.merged:
            result.notes.append(f"{counted.merged} row(s) merged into {table} rows already stored (same event)")
    sources = ",".join(sorted(result.tables)) or None
    result.sha256 = digest.value()
    con.execute(
        "INSERT INTO ingested_files VALUES ($file_id, $file, $sha, $format, $source, $rows, "
        "$dups, $rejected, $min_ts, $max_ts, now(), $notes)",
        {
            "file_id": file_id,
            "file": display,
            "sha": result.sha256,
            "format": result.format,
            "source": sources,
            "rows": result.rows,
            "dups": result.duplicates + result.merged,
            "rejected": result.rejected,
            "min_ts": result.min_ts,
            "max_ts": result.max_ts,
            "notes": "; ".join(result.notes) or None,
        },
    )
    return result


def plausible_options(
    reject_before: dt.datetime | str | None, max_future: dt.timedelta | str | None
) -> dict[str, Any]:
    """IngestOptions fields from the user's plausibility bounds (None: the default)."""
    from ..timeparse import parse_duration, parse_instant

    out: dict[str, Any] = {}
    if reject_before is not None:
        out["reject_before"] = parse_instant(reject_before)
    if max_future is not None:
        out["max_future"] = parse_duration(max_future)
    return out


def _empty_export(sample: Sample) -> bool:
    """`[]` (a Logs Explorer download of no rows) or an API page with an empty result."""
    if not sample.complete or sample.first_char not in "[{" or len(sample.text) > 4096:
        return False
    try:
        doc = json.loads(sample.text)
    except (ValueError, RecursionError):
        return False
    return doc == [] or (
        isinstance(doc, dict) and doc.get("result") == [] and not doc.get("error")
    )


def _reject_invalid_utf8(
    con: duckdb.DuckDBPyConnection,
    file_id: int,
    display: str,
    text_file: TextFile,
    result: FileResult,
    options: IngestOptions,
) -> None:
    """Keep the lines set aside as invalid UTF-8 (utf8_text) as rejected rows."""
    if not text_file.invalid_lines:
        return
    lines = [line for line, _ in text_file.invalid_lines]
    raws = [raw for _, raw in text_file.invalid_lines]
    con.execute(
        "INSERT INTO rejected_rows SELECT $file_id, $file, u.line, $reason, u.raw "
        "FROM (SELECT unnest($lines) AS line, unnest($raws) AS raw) u",
        {"file_id": file_id, "file": display, "lines": lines, "raws": raws, "reason": INVALID_UTF8_REASON},
    )
    result.rejected_unrouted += len(lines)
    if options.strict:
        raise _strict_failure(f"{len(lines)} line(s) are not valid UTF-8", display, lines[0])


def _strict_failure(what: str, display: str, line: int) -> InputError:
    return InputError(
        what,
        hint="--strict turns rejected rows into a failure; without it they are kept in the rejected_rows table",
        file=display,
        line=line,
    )


def _check_marked_rows_rejected(
    con: duckdb.DuckDBPyConnection,
    file_id: int,
    display: str,
    text_file: TextFile,
    result: FileResult,
    options: IngestOptions,
) -> None:
    """Bytes that are not UTF-8 inside a JSON document reject the rows holding them (see
    stage); a reader that kept no raw text of those rows, or a file where they are more
    than a stray value, fails instead of storing the marks."""
    (marked_rows,) = con.execute(
        "SELECT count(*) FROM rejected_rows WHERE file_id = $file_id AND reason = $reason",
        {"file_id": file_id, "reason": INVALID_UTF8_REASON},
    ).fetchone()  # type: ignore[misc]
    first = text_file.repaired_lines[0]
    if not marked_rows:
        raise InputError(
            f"bytes that are not UTF-8 on {len(text_file.repaired_lines)} line(s) of a JSON "
            "document could not be traced to their rows",
            hint=ENCODING_HINT,
            file=display,
            line=first,
        )
    rows_in = result.rows + result.rejected
    if marked_rows > max(1, rows_in // 100):
        raise InputError(
            f"not UTF-8: {marked_rows:,} of {rows_in:,} rows hold bytes that are not UTF-8",
            hint=ENCODING_HINT,
            file=display,
            line=first,
        )
    if options.strict:
        raise _strict_failure(f"{marked_rows} row(s) hold bytes that are not UTF-8", display, first)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _reader_hint(exc: BaseException) -> str:
    text = str(exc)
    if "Out of Memory" in text:
        return "raise the ingest's memory budget: --memory-limit 4GB (or $" + MEMORY_ENV_VAR + ")"
    if "JSON" in text or "json" in text:
        return "the JSON is malformed or truncated; export it again"
    if "CSV" in text or "csv" in text:
        return "the CSV is malformed (a broken quote?) or truncated; export it again"
    return "the file is malformed or truncated"


def _earliest(values: Iterable[dt.datetime | None]) -> dt.datetime | None:
    return min((v for v in values if v is not None), default=None)


def _latest(values: Iterable[dt.datetime | None]) -> dt.datetime | None:
    return max((v for v in values if v is not None), default=None)
