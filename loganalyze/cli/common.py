"""Shared CLI pieces: option aliases declared once, the database opener, error mapping."""

from __future__ import annotations

import errno
import re
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, TextIO

import typer
from rich.console import Console

from ..errors import LogAnalyzeError
from ..exit_codes import ExitCode

stderr = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="DuckDB database file (default: $LOGANALYZE_DB, else ./loganalyze.duckdb; "
        "in memory when log paths are given).",
        show_default=False,
    ),
]
PathsArgument = Annotated[
    list[Path] | None,
    typer.Argument(
        help="Log files or directories (recursed; .gz/.bz2/.xz read directly).",
        show_default=False,
    ),
]
SinceOption = Annotated[
    str | None,
    typer.Option(
        "--since",
        help="Start: a duration before now (2h, 30m, 1d), a time today (10:05) or an ISO "
        "timestamp (2026-03-12T19:05); times without an offset are read in --tz.",
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option(
        "--until",
        help="End: a duration before now, a time today or an ISO timestamp (read in --tz).",
    ),
]
LastOption = Annotated[
    str | None,
    typer.Option(
        "--last",
        help="A duration ending at the newest event in the data (for replayed logs), e.g. 2h.",
    ),
]
WindowOption = Annotated[
    str, typer.Option(
        "--window",
        help="Bucket width for per-window results (30s, 1m, 5m), or 'all' for one window "
        "over the whole range.",
    )
]
TzOption = Annotated[
    str | None,
    typer.Option(
        "--tz",
        help="Time zone (IANA name, e.g. Asia/Seoul) that times are shown in and that typed "
        "times without an offset (--since, --until, --mark) are read in. Default: the local "
        "zone.",
        show_default=False,
    ),
]
RedactOption = Annotated[
    bool | None,
    typer.Option(
        "--redact/--no-redact",
        help="Mask JWTs, API keys, e-mail and IP addresses taken from the logs, each value "
        "with a stable pseudonym (<jwt:3f9a01c2>) so counts and groupings still read. "
        "Default: on for files meant to be shared (markdown, json, html, charts, every "
        "check output), off for the terminal report (--format rich).",
        show_default=False,
    ),
]
MemoryLimitOption = Annotated[
    str | None,
    typer.Option(
        "--memory-limit",
        help="Memory budget (e.g. 2GB): beyond it DuckDB spills to a temporary directory, "
        "so a range of any size fits. Default: $LOGANALYZE_MEMORY_LIMIT, else 1GB for the "
        "analysis and 1.5GB for ingesting log PATHs.",
        show_default=False,
    ),
]
DetectorParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="A detector parameter as DETECTOR.NAME=VALUE, e.g. conflict_storms.min_count=20 "
        "(repeatable; `loganalyze detectors` lists them).",
        show_default=False,
    ),
]


def examples(*commands: str) -> str:
    """The help's closing lines: a few commands to copy."""
    return "\n\n".join(["[bold]Examples[/]", *(f"  $ {c}" for c in commands)])


def typed_range(since: str | None, until: str | None, tz: str | None):  # type: ignore[no-untyped-def]
    """--since/--until as a person typed them → UTC instants: durations before now, times
    of day and ISO timestamps without an offset read in the --tz zone (the local zone
    without one), as the report shows them."""
    from ..report.zones import resolve_zone
    from ..timeparse import parse_instant

    if since is None and until is None:
        return None, None
    zone = resolve_zone(tz)
    return (
        parse_instant(since, zone=zone) if since is not None else None,
        parse_instant(until, zone=zone) if until is not None else None,
    )


def parse_detector_params(
    pairs: list[str] | None, defaults: dict[str, dict] | None = None
) -> dict[str, dict[str, object]]:
    """`DETECTOR.NAME=VALUE` pairs over `defaults` (a config's [params]) → per detector."""
    from ..detectors import get_detector
    from ..errors import UsageError

    merged = {name: dict(values) for name, values in (defaults or {}).items()}
    for pair in pairs or []:
        target, sep, value = pair.partition("=")
        detector, dot, key = target.strip().partition(".")
        if not sep or not dot or not detector or not key:
            raise UsageError(
                f"--param expects DETECTOR.NAME=VALUE, got {pair!r}",
                hint="e.g. --param conflict_storms.min_count=20",
            )
        merged.setdefault(detector, {})[key] = value.strip()
    for detector in merged:
        get_detector(detector)  # an unknown name fails here, with the known ones listed
    return merged


DUCKDB_MAGIC = b"DUCK"
"""DuckDB database files carry this at byte offset 8."""


def open_logs(paths: list[Path], db: Path | None, memory_limit: str | None = None):  # type: ignore[no-untyped-def]
    """A connection holding the logs: a single DuckDB file is opened read-only, log paths
    are ingested (into `db`, else into memory), and without paths `db` is read. Queries
    on it run under the analysis memory budget (`--memory-limit`), spilling beyond it."""
    from ..errors import InputError
    from ..store import MEMORY, analysis_memory_limit, connect, resolve_db_path

    budget = analysis_memory_limit(memory_limit)
    if db is None and not paths:
        from .defaults import config_db

        db = config_db()
    if len(paths) == 1 and _is_duckdb_file(paths[0]):
        if db is not None:
            raise InputError(f"{paths[0]} is a database: give it as --db, not with --db {db}")
        return connect(paths[0], read_only=True, memory_limit=budget)
    target = resolve_db_path(db, have_paths=bool(paths))
    con = connect(target, read_only=not paths and target != MEMORY, memory_limit=budget)
    if paths:
        from ..ingest import ingest

        ingest(paths, con, memory_limit=memory_limit)
    return con


@contextmanager
def output_file(path: Path) -> Iterator[TextIO]:
    """`--out PATH` opened for text, its directory created; a path that cannot be
    written (read-only, a directory, a full disk, /dev/full) raises InputError naming it
    and the reason (exit 3)."""
    from ..errors import InputError

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as handle:
            yield handle
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in _DISK_FULL:
            reason = "disk full: " + reason
        raise InputError(f"cannot write: {reason}", file=str(path)) from None


def _is_duckdb_file(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return path.is_file() and handle.read(12)[8:12] == DUCKDB_MAGIC
    except OSError:
        return False


def fail(exc: LogAnalyzeError) -> typer.Exit:
    """Print an expected failure on stderr and return the Exit to raise."""
    stderr.print(f"[bold red]error:[/] {exc.message}", highlight=False, markup=True)
    if exc.hint:
        stderr.print(f"[dim]hint:[/] {exc.hint}", highlight=False)
    return typer.Exit(int(exc.exit_code))


class Interrupted(BaseException):
    """Ctrl-C: raised by our SIGINT handler instead of KeyboardInterrupt, which Click
    turns into "Aborted!" and exit 1. Like KeyboardInterrupt it is no Exception, so it
    unwinds through every `except Exception`, rolling back the open transaction and
    removing temporary files on its way."""


INTERRUPTED_EXIT = 130
"""What a shell reports for a process ended by SIGINT (128 + 2)."""

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


_interrupt_seen = False


def _raise_interrupted(signum: int, frame: object) -> None:
    # DuckDB notices the pending exception and ends its statement with its own
    # RuntimeError("Query interrupted"); the flag says what that error really was.
    global _interrupt_seen
    _interrupt_seen = True
    raise Interrupted


def run_app(app: typer.Typer) -> None:
    """Run the app; expected failures print one line (and a hint) and exit with their
    documented code, never a traceback:

    - LogAnalyzeError: its own code;
    - Ctrl-C: "interrupted", exit 130 (the database as it was, temporary files gone);
    - a full disk: exit 3, naming the file;
    - any other OSError (an unwritable --out, a directory where a file was expected, an
      unreadable input): exit 3, naming the path and the reason.
    """
    previous = signal.signal(signal.SIGINT, _raise_interrupted)
    try:
        app(standalone_mode=True)
    except LogAnalyzeError as exc:  # commands catch their own; this is the safety net
        raise SystemExit(int(fail(exc).exit_code)) from None
    except (Interrupted, KeyboardInterrupt):
        _exit_interrupted()
    except OSError as exc:
        if _interrupt_seen:
            _exit_interrupted()
        raise SystemExit(int(fail(os_error(exc)).exit_code)) from None
    except Exception as exc:
        if _interrupt_seen:
            _exit_interrupted()
        known = database_error(exc)
        if known is None:
            raise
        raise SystemExit(int(fail(known).exit_code)) from None
    finally:
        signal.signal(signal.SIGINT, previous)


def _exit_interrupted() -> None:
    print("interrupted", file=sys.stderr)
    raise SystemExit(INTERRUPTED_EXIT) from None


def os_error(exc: OSError) -> LogAnalyzeError:
    """An OSError as one line naming the path and the reason (exit 3)."""
    from ..errors import InputError

    reason = exc.strerror or str(exc) or type(exc).__name__
    where = exc.filename if exc.filename is not None else None
    if exc.errno in _DISK_FULL:
        return InputError(
            f"disk full: {reason}",
            hint="free some space and run again (a database being written is left as it was)",
            file=str(where) if where is not None else None,
        )
    if where is None:
        return InputError(reason)
    return InputError(reason, file=str(where))


def database_error(exc: BaseException) -> LogAnalyzeError | None:
    """DuckDB's own I/O failures (a full disk while it writes, an unreadable file) as
    exit 3; None for anything else, which is a bug and keeps its traceback."""
    import duckdb

    from ..errors import InputError

    whole = str(exc).strip()
    if isinstance(exc, duckdb.Error) and ("No space left on device" in whole or "disk is full" in whole.lower()):
        # a FatalException from a checkpoint carries the cause on a later line
        cause = re.search(r'Could not write file "([^"]+)"', whole)
        return InputError(
            "disk full: No space left on device",
            hint="free some space (or point $TMPDIR and --db at a larger disk) and run again; "
            "what was being written is not kept",
            file=cause.group(1) if cause else None,
        )
    if not isinstance(exc, duckdb.IOException | duckdb.OutOfMemoryException):
        return None
    text = whole.splitlines()[0] if whole else type(exc).__name__
    if isinstance(exc, duckdb.OutOfMemoryException):
        return InputError(text, hint="raise the memory budget: --memory-limit or $LOGANALYZE_MEMORY_LIMIT")
    return InputError(text)


__all__ = [
    "INTERRUPTED_EXIT",
    "DbOption",
    "ExitCode",
    "LastOption",
    "PathsArgument",
    "SinceOption",
    "UntilOption",
    "WindowOption",
    "database_error",
    "fail",
    "open_logs",
    "os_error",
    "output_file",
    "run_app",
    "stderr",
]
