"""Commands that move data: `ingest`, `query`, `schema`, `formats`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import LogAnalyzeError, UsageError
from ..store import connect, resolve_db_path, writing
from .common import DbOption, examples, fail, stderr
from .engines import ChdbPathOption, ClickhouseUrlOption


def register(app: typer.Typer) -> None:
    app.command(
        "ingest",
        epilog=examples(
            "loganalyze ingest ~/Downloads/supabase-logs-*.json ~/Downloads/vercel-drain.ndjson",
            "loganalyze ingest postgresql.log --log-line-prefix '%m [%p] %q%u@%d ' --db pg.duckdb",
            "loganalyze ingest exports/ --db incident.duckdb --strict",
        ),
    )(ingest_command)
    app.command(
        "query",
        epilog=examples(
            'loganalyze query "SELECT status, count(*) FROM edge_logs GROUP BY ALL ORDER BY 2 DESC"',
            'loganalyze query "SELECT * FROM rejected_rows LIMIT 20" --format csv',
        ),
    )(query_command)
    app.command(
        "schema", epilog=examples("loganalyze schema", "loganalyze schema edge_logs")
    )(schema_command)
    app.command("formats", epilog=examples("loganalyze formats"))(formats_command)


def ingest_command(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Log exports: files or directories (recursed); .gz/.bz2/.xz read directly; - reads standard input."),
    ],
    db: DbOption = None,
    source: Annotated[
        str | None,
        typer.Option(help="Force the log table for rows whose source cannot be told (e.g. edge_logs)."),
    ] = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="Force the reader instead of sniffing (see `loganalyze formats`)."),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Fail (exit 3, database unchanged) if any row cannot be normalized.")
    ] = False,
    log_line_prefix: Annotated[
        str | None,
        typer.Option(help="Postgres log_line_prefix of stderr logs, e.g. '%m [%p] %q%u@%d '."),
    ] = None,
    date: Annotated[
        str | None,
        typer.Option(help="Date (YYYY-MM-DD, UTC) for logs that carry only a time of day (Realtime)."),
    ] = None,
    memory_limit: Annotated[
        str | None,
        typer.Option(help="Memory budget of the ingest (e.g. 2GB); beyond it DuckDB spills to a "
                     "temporary directory. Default: $LOGANALYZE_MEMORY_LIMIT, else 1.5GB."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option(help="Text encoding of exports that are not UTF-8 (latin-1, cp1252, utf-16, …)."),
    ] = None,
    reject_before: Annotated[
        str | None,
        typer.Option(help="Rows dated before this (ISO date or time) are implausible: kept in "
                     "rejected_rows, not stored. Default: 2000-01-01."),
    ] = None,
    max_future: Annotated[
        str | None,
        typer.Option(help="Rows dated more than this after now are implausible (e.g. 1d, 30d). "
                     "Default: 1d."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json/--no-json", help="Print the summary as JSON on stdout.")] = False,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            help="Where the rows go: duckdb (default, --db), chdb (a chDB store, --chdb-path) or "
            "clickhouse (a server, --clickhouse-url). docs/scale-out.md says what dedup holds there.",
        ),
    ] = "duckdb",
    clickhouse_url: ClickhouseUrlOption = None,
    chdb_path: ChdbPathOption = None,
) -> None:
    """Read log exports into a DuckDB database (default ./loganalyze.duckdb), or into
    ClickHouse with --engine chdb|clickhouse.

    Formats are sniffed from content. The whole run is one transaction: if any file
    cannot be read, nothing is written. Rows that cannot be normalized are kept in the
    rejected_rows table and counted in the summary. On ClickHouse the files are read the
    same way (into a temporary DuckDB), then inserted in Arrow batches; a row whose id its
    table already holds is skipped.
    """
    from ..ingest import ingest

    options = {"source": source, "fmt": fmt, "strict": strict, "log_line_prefix": log_line_prefix,
               "memory_limit": memory_limit, "encoding": encoding,
               "reject_before": reject_before, "max_future": max_future}  # fmt: skip
    if engine != "duckdb":
        if db is not None:
            raise fail(UsageError(f"--db is DuckDB's; --engine {engine} writes to ClickHouse"))
        _ingest_to_engine(paths, engine, clickhouse_url, chdb_path, date, as_json, options)
        return
    try:
        reference_date = _parse_date(date)
        with writing(resolve_db_path(db, have_paths=False)) as con, _progress(paths) as progress:
            summary = ingest(
                paths,
                con,
                source=source,
                fmt=fmt,
                strict=strict,
                log_line_prefix=log_line_prefix,
                reference_date=reference_date,
                progress=progress,
                memory_limit=memory_limit,
                encoding=encoding,
                reject_before=reject_before,
                max_future=max_future,
            )
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2))
    else:
        from ..report.ingest_summary import render_ingest_summary

        render_ingest_summary(summary, stderr)


def _ingest_to_engine(paths, engine, url, chdb_path, date, as_json, options) -> None:  # type: ignore[no-untyped-def]
    from ..engines import ingest_to_engine

    try:
        with _progress(paths) as progress:
            done = ingest_to_engine(
                engine, list(paths), url=url, chdb_path=chdb_path,
                reference_date=_parse_date(date), progress=progress, **options,
            )  # fmt: skip
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    if as_json:
        print(json.dumps(done.to_dict(), indent=2))
        return
    from ..report.ingest_summary import render_ingest_summary

    render_ingest_summary(done.summary, stderr)
    skipped = sum(done.already_there.values())
    written = sum(n for t, n in done.inserted.items() if t not in ("ingested_files", "rejected_rows"))
    stderr.print(
        f"{engine} {done.target}: {written:,} rows inserted"
        + (f", {skipped:,} already there (skipped)" if skipped else ""),
        highlight=False,
    )


def query_command(
    sql: Annotated[str, typer.Argument(help="SQL to run against the normalized tables.")],
    db: DbOption = None,
    fmt: Annotated[
        str, typer.Option("--format", help="table (for people), json (array of row objects) or csv.")
    ] = "table",
    allow_files: Annotated[
        bool,
        typer.Option(
            "--allow-files/--no-allow-files",
            help="Let the SQL read and write files (read_csv, COPY … TO, EXPORT DATABASE). "
            "Without it file access is disabled and cannot be re-enabled from SQL.",
        ),
    ] = False,
) -> None:
    """Run ad-hoc SQL against the database (read-only) and print the result; every
    DuckDB type prints. The SQL cannot touch the file system unless --allow-files."""
    from ..report.query import run_query

    try:
        con = connect(resolve_db_path(db, have_paths=False), read_only=True)
        try:
            result = run_query(con, sql, fmt=fmt, allow_files=allow_files)
        finally:
            # the locked configuration belongs to the database instance: closing releases
            # it, so a later connection in the same process opens normally
            con.close()
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    if isinstance(result, str):
        sys.stdout.write(result)
    elif fmt == "csv":
        sys.stdout.write(result.write_csv())
    else:
        from ..report.tables import print_frame

        print_frame(result)


def schema_command(
    table: Annotated[str | None, typer.Argument(help="Show one table only.")] = None,
) -> None:
    """Describe the normalized tables and their columns (docs/schema.md has the meanings)."""
    from ..schema_doc import column_docs

    docs = column_docs()
    if table is not None and table not in docs:
        raise fail(UsageError(f"unknown table {table!r}", hint="tables: " + ", ".join(docs)))
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for name, columns in docs.items():
        if table is not None and name != table:
            continue
        grid = Table(title=name, title_justify="left", show_lines=False)
        grid.add_column("column", style="bold")
        grid.add_column("type")
        grid.add_column("meaning")
        for col in columns:
            grid.add_row(col.name, col.type, col.doc)
        console.print(grid)


def formats_command() -> None:
    """List the log formats that ingest recognizes, with an example each."""
    from rich.console import Console
    from rich.table import Table

    from ..ingest import formats

    grid = Table(title="formats (sniffed from content; force one with ingest --format NAME)")
    grid.add_column("name", style="bold")
    grid.add_column("what it reads")
    grid.add_column("tables")
    for f in sorted(formats(), key=lambda f: f.name):
        grid.add_row(f.name, f.description, ", ".join(f.tables))
    Console().print(grid)


def _parse_date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"not a date: {text!r}", hint="use YYYY-MM-DD") from None


class _progress:
    """A progress bar on stderr for inputs large enough to wait for; silent otherwise."""

    THRESHOLD = 50 * 1024 * 1024

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths
        self.bar = None
        self.task = None

    def __enter__(self):  # type: ignore[no-untyped-def]
        from ..ingest import expand_paths

        try:
            total = sum(p.stat().st_size for p in expand_paths(self.paths))
        except LogAnalyzeError:
            return None  # the ingest itself reports the bad path
        if total < self.THRESHOLD or not stderr.is_terminal:
            return None
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("[bold]ingest[/] {task.fields[file]}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=stderr,
            transient=True,
        )
        self.bar.start()
        self.task = self.bar.add_task("ingest", total=total, file="")

        def update(file: str, done: int, total_bytes: int) -> None:
            assert self.bar is not None and self.task is not None
            self.bar.update(self.task, completed=done, total=total_bytes, file=Path(file).name)

        return update

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()
