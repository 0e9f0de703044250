"""Shared CLI pieces: option aliases declared once, the database opener, error mapping."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

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
        "--since", help="Start: a duration before now (2h, 30m, 1d) or an ISO timestamp."
    ),
]
UntilOption = Annotated[
    str | None,
    typer.Option("--until", help="End: a duration before now or an ISO timestamp."),
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


DUCKDB_MAGIC = b"DUCK"
"""DuckDB database files carry this at byte offset 8."""


def open_logs(paths: list[Path], db: Path | None):  # type: ignore[no-untyped-def]
    """A connection holding the logs: a single DuckDB file is opened read-only, log paths
    are ingested (into `db`, else into memory), and without paths `db` is read."""
    from ..errors import InputError
    from ..store import MEMORY, connect, resolve_db_path

    if len(paths) == 1 and _is_duckdb_file(paths[0]):
        if db is not None:
            raise InputError(f"{paths[0]} is a database: give it as --db, not with --db {db}")
        return connect(paths[0], read_only=True)
    target = resolve_db_path(db, have_paths=bool(paths))
    con = connect(target, read_only=not paths and target != MEMORY)
    if paths:
        from ..ingest import ingest

        ingest(paths, con)
    return con


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


def run_app(app: typer.Typer) -> None:
    """Run the app; a LogAnalyzeError escaping a command still never shows a traceback."""
    try:
        app(standalone_mode=True)
    except LogAnalyzeError as exc:  # pragma: no cover - commands catch their own
        raise SystemExit(int(fail(exc).exit_code)) from None
    except KeyboardInterrupt:  # pragma: no cover
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None


__all__ = [
    "DbOption",
    "ExitCode",
    "LastOption",
    "PathsArgument",
    "SinceOption",
    "UntilOption",
    "WindowOption",
    "fail",
    "open_logs",
    "run_app",
    "stderr",
]
