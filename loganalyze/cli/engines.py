"""`loganalyze init` (create the normalized tables on an engine) and the `--engine` /
`--clickhouse-url` options the detector commands share (docs/scale-out.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from ..errors import LogAnalyzeError, UsageError
from .common import DbOption, examples, fail

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Where the detectors run: duckdb (default, every detector), chdb (ClickHouse in "
        "this process, loaded from the DuckDB database), clickhouse (a server or cluster, "
        "--clickhouse-url) or supabase (pushed down to --project REF's own log store, token "
        "from $SUPABASE_ACCESS_TOKEN). `loganalyze detectors --engine X` lists what runs there.",
    ),
]
ClickhouseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--clickhouse-url",
        envvar="LOGANALYZE_CLICKHOUSE_URL",
        help="ClickHouse server for --engine clickhouse, e.g. http://default:@localhost:8123/default "
        "($LOGANALYZE_CLICKHOUSE_URL).",
    ),
]

ChdbPathOption = Annotated[
    str | None,
    typer.Option(
        "--chdb-path",
        help="Directory of a chDB store for --engine chdb (filled by `loganalyze ingest --engine "
        "chdb --chdb-path DIR`); without it chDB is loaded from the DuckDB database.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command(
        "init",
        epilog=examples(
            "loganalyze init --db incident.duckdb",
            "loganalyze init --engine clickhouse --clickhouse-url http://default:@localhost:8123/logs",
            "loganalyze init --engine clickhouse --ddl > loganalyze-clickhouse.sql",
        ),
    )(init_command)


def init_command(
    engine: EngineOption = "duckdb",
    db: DbOption = None,
    clickhouse_url: ClickhouseUrlOption = None,
    chdb_path: ChdbPathOption = None,
    ddl: Annotated[
        bool,
        typer.Option("--ddl/--no-ddl", help="Print the ClickHouse DDL on stdout instead of creating tables."),
    ] = False,
) -> None:
    """Create the normalized tables (edge_logs, postgres_logs, …) on an engine."""
    from ..engines import init_engine

    try:
        if ddl:
            from ..engines.clickhouse.ddl import schema_ddl

            print(";\n\n".join(schema_ddl()) + ";")
            return
        where = init_engine(engine, db=db, url=clickhouse_url, chdb_path=chdb_path)
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    from .common import stderr

    stderr.print(f"normalized tables ready on {engine}: {where}", highlight=False)


def finding_on_engine(
    engine: str,
    url: str | None,
    chdb_path: str | None,
    open_duckdb: Callable[[], Any],
    name: str,
    *,
    has_paths: bool,
    **kwargs: Any,
):
    """One detector's Finding on `engine` (read as `data_on_engine` says); a detector
    the engine cannot run is refused before any data is moved."""
    from ..engines import detect_on, require_support

    require_support(engine, name)
    with data_on_engine(engine, url, chdb_path, open_duckdb, has_paths=has_paths) as handle:
        return detect_on(handle, name, **kwargs)


def _reads_engine_tables(engine: str, chdb_path: str | None) -> bool:
    """The data is already on the engine (a server, a chDB store), not in DuckDB."""
    return engine == "clickhouse" or (engine == "chdb" and bool(chdb_path))


@contextmanager
def data_on_engine(
    engine: str,
    url: str | None,
    chdb_path: str | None,
    open_duckdb: Callable[[], Any],
    *,
    has_paths: bool,
    what: str = "log PATHs",
) -> Iterator[Any]:
    """What `report` and `check` read: the DuckDB connection `open_duckdb` opens
    (duckdb), or an engine holding the data (closed afterwards). Log PATHs are ingested
    into DuckDB, so they go with duckdb, or chdb loaded from DuckDB; a server or a chDB
    store is read as it is."""
    from ..engines import check_engine, open_engine

    check_engine(engine)
    if engine == "duckdb":
        yield open_duckdb()
        return
    if has_paths and _reads_engine_tables(engine, chdb_path):
        where = "--chdb-path" if engine == "chdb" else "--clickhouse-url"
        raise UsageError(
            f"{what} cannot be read with --engine {engine} {where}: that engine's tables "
            "are read as they are",
            hint=f"ingest them first: loganalyze ingest PATHS --engine {engine} {where} …",
        )
    con = None if _reads_engine_tables(engine, chdb_path) else open_duckdb()
    handle = open_engine(engine, con, url=url, chdb_path=chdb_path)
    try:
        yield handle
    finally:
        handle.close()
