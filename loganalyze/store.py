"""The DuckDB store: opening a database, its schema, and small SQL helpers.

Every connection runs in UTC so that naive timestamps in the logs are read as UTC and
`ts` values print the same on every machine; display zones are the reporters' business.
"""

from __future__ import annotations

import atexit
import functools
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

from .errors import InputError, UsageError

DEFAULT_DB = "loganalyze.duckdb"
DB_ENV_VAR = "LOGANALYZE_DB"
MEMORY = ":memory:"

DEFAULT_LOCK_TIMEOUT = 30.0
"""Seconds a command waits for another process's lock on the database before failing."""
LOCK_TIMEOUT_ENV_VAR = "LOGANALYZE_LOCK_TIMEOUT"
# The budget of the commands that read a database (report, run, check): DuckDB holds this
# much and spills the rest, so the process as a whole stays well under 1.5 GB however many
# events the range holds. $LOGANALYZE_MEMORY_LIMIT (the ingest's budget) overrides it.
ANALYSIS_MEMORY_LIMIT = "1GB"
MEMORY_LIMIT_ENV_VAR = "LOGANALYZE_MEMORY_LIMIT"
_LOCK_POLL_SECONDS = 0.2

LOG_TABLES: tuple[str, ...] = (
    "edge_logs",
    "postgres_logs",
    "auth_logs",
    "realtime_logs",
    "postgrest_logs",
    "function_edge_logs",
    "supavisor_logs",
    "vercel_logs",
    "cron_runs",
)
"""Tables that hold log rows (each has id, ts, file_id)."""

BOOKKEEPING_TABLES: tuple[str, ...] = ("ingested_files", "rejected_rows")


def schema_sql() -> str:
    return resources.files("loganalyze").joinpath("schema.sql").read_text(encoding="utf-8")


def resolve_db_path(db: str | os.PathLike[str] | None, *, have_paths: bool) -> str:
    """Where a command's database lives.

    `--db` wins, then `$LOGANALYZE_DB`. A command given log paths and no database works
    in memory (nothing is left behind); otherwise `./loganalyze.duckdb`.
    """
    if db is not None:
        return str(db)
    env = os.environ.get(DB_ENV_VAR)
    if env:
        return env
    return MEMORY if have_paths else DEFAULT_DB


def connect(
    path: str | os.PathLike[str] = MEMORY,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
    lock_timeout: float | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) a loganalyze database and make sure its schema exists.

    A database another process holds (an `ingest` writing while a `report` reads) is
    waited for, up to `lock_timeout` seconds (default $LOGANALYZE_LOCK_TIMEOUT, else 30),
    with one "waiting for …" line on stderr; then InputError names the holder."""
    target = str(path)
    if target != MEMORY:
        _check_db_location(target, read_only=read_only)
    con = _open_waiting(target, read_only=read_only, lock_timeout=lock_timeout)
    # Autoloading would try the network for extensions we never need.
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET TimeZone = 'UTC'")
    # DuckDB draws its own progress bar on stdout, which holds commands' data (JSON, CSV);
    # ingest shows progress on stderr from query_progress() instead.
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET enable_progress_bar_print = false")
    except duckdb.InvalidInputException:
        # inside Jupyter without ipywidgets DuckDB refuses any progress-bar setting; the
        # bar is off there already
        pass
    if target == MEMORY or (read_only and memory_limit):
        # Where an in-memory database spills when it outgrows memory_limit (DuckDB's
        # default is ./.tmp in whatever directory the user happens to be in); a database
        # opened for reading may sit on a read-only mount, where <db>.tmp cannot be made.
        con.execute("SET temp_directory = '" + _spill_dir().replace("'", "''") + "'")
    if memory_limit:
        con.execute("SET VARIABLE loganalyze_memory_limit = ?", [memory_setting(memory_limit)])
    restore_memory_limit(con)
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if not read_only:
        con.execute(schema_sql())
    return con


@contextmanager
def writing(path: str | os.PathLike[str], **options: object) -> Iterator[duckdb.DuckDBPyConnection]:
    """`connect(path)` for a command that writes, closed at the end. When the command
    fails and the database did not exist before, the file it created is removed again:
    a failed first ingest leaves no empty database behind (a second ingest would then
    find it and report nothing wrong)."""
    target = str(path)
    created = target != MEMORY and not Path(target).expanduser().exists()
    con = connect(target, **options)  # type: ignore[arg-type]
    try:
        yield con
    except BaseException:
        con.close()
        if created:
            where = Path(target).expanduser()
            for leftover in (where, where.with_name(where.name + ".wal")):
                leftover.unlink(missing_ok=True)
        raise
    else:
        con.close()


def _check_db_location(target: str, *, read_only: bool) -> None:
    """Fail with the path and the reason when the database cannot live where asked."""
    where = Path(target).expanduser()
    if read_only:
        if not where.exists():
            raise InputError(
                f"database {target} does not exist",
                hint="ingest logs first: loganalyze ingest PATH --db " + target,
            )
        return
    if where.is_dir():
        raise InputError(f"database {target} is a directory", hint="give a file path to --db")
    try:
        where.resolve().parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"cannot create the directory of database {target}: {exc.strerror or exc}",
            hint="choose a writable location for --db",
        ) from None


def lock_timeout_seconds(value: float | None = None) -> float:
    """The lock wait in seconds: `value`, else $LOGANALYZE_LOCK_TIMEOUT, else 30."""
    if value is not None:
        return max(0.0, float(value))
    env = os.environ.get(LOCK_TIMEOUT_ENV_VAR)
    if env:
        try:
            return max(0.0, float(env))
        except ValueError:
            raise UsageError(
                f"${LOCK_TIMEOUT_ENV_VAR} is not a number of seconds: {env!r}", hint="e.g. 30"
            ) from None
    return DEFAULT_LOCK_TIMEOUT


def _is_lock_conflict(exc: duckdb.Error) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _lock_holder(exc: duckdb.Error) -> str:
    found = re.search(r"\(PID (\d+)\)", str(exc))
    return f"process {found.group(1)}" if found else "another process"


def _open_waiting(
    target: str, *, read_only: bool, lock_timeout: float | None
) -> duckdb.DuckDBPyConnection:
    """duckdb.connect, retried while another process holds the file's lock."""
    deadline = time.monotonic() + lock_timeout_seconds(lock_timeout)
    announced = False
    while True:
        try:
            return duckdb.connect(target, read_only=read_only)
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise InputError(
                    f"cannot open database {target}: {_first_line(exc)}",
                    hint="is it a DuckDB file, and readable (and writable, to ingest)?",
                ) from None
            if time.monotonic() >= deadline:
                raise InputError(
                    f"database {target} is in use by {_lock_holder(exc)}",
                    hint="wait for that loganalyze command to finish, or raise "
                    f"${LOCK_TIMEOUT_ENV_VAR} (seconds; default {DEFAULT_LOCK_TIMEOUT:g})",
                ) from None
            if not announced:
                print(
                    f"waiting for {_lock_holder(exc)} to release database {target} …",
                    file=sys.stderr,
                    flush=True,
                )
                announced = True
            time.sleep(_LOCK_POLL_SECONDS)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def restore_memory_limit(con: duckdb.DuckDBPyConnection) -> None:
    """Set the memory limit the connection was opened with (DuckDB's default if none)."""
    (limit,) = con.execute("SELECT getvariable('loganalyze_memory_limit')").fetchone()  # type: ignore[misc]
    if limit:
        con.execute("SET memory_limit = '" + memory_setting(limit) + "'")
    else:
        con.execute("RESET memory_limit")


@functools.cache
def _spill_dir() -> str:
    # the pid lets a later run remove it when this process dies without cleaning up
    path = tempfile.mkdtemp(prefix=f"loganalyze-spill-{os.getpid()}-")
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def analysis_memory_limit(value: str | None = None) -> str:
    """The memory budget of a command that reads the database: `value`, else
    $LOGANALYZE_MEMORY_LIMIT, else ANALYSIS_MEMORY_LIMIT (validated)."""
    return memory_setting(value or os.environ.get(MEMORY_LIMIT_ENV_VAR) or ANALYSIS_MEMORY_LIMIT)


def memory_setting(value: str) -> str:
    """A validated DuckDB memory size (`2GB`, `512MiB`, `1.5 GiB`); SET takes no
    parameters, so the value is checked before it is written into the statement."""
    text = value.strip()
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]i?B", text, flags=re.IGNORECASE):
        raise UsageError(f"not a memory size: {value!r}", hint="use e.g. 2GB or 512MiB")
    return text


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (table/column name); values are always bound instead."""
    return '"' + name.replace('"', '""') + '"'


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: on any exception the database is exactly as before."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    else:
        con.execute("COMMIT")


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per log table (tables with no rows included)."""
    out: dict[str, int] = {}
    for table in LOG_TABLES:
        (n,) = con.execute("SELECT count(*) FROM " + quote_ident(table)).fetchone()  # type: ignore[misc]
        out[table] = int(n)
    return out


def data_span(con: duckdb.DuckDBPyConnection) -> tuple[object, object]:
    """(min ts, max ts) over every log table, or (None, None) for an empty database."""
    parts = " UNION ALL ".join(
        "SELECT min(ts) AS lo, max(ts) AS hi FROM " + quote_ident(t) for t in LOG_TABLES
    )
    row = con.execute("SELECT min(lo), max(hi) FROM (" + parts + ")").fetchone()
    assert row is not None
    return row[0], row[1]
