"""`loganalyze init` (create the normalized tables on an engine) and the `--engine` /
`--clickhouse-url` options the detector commands share (docs/scale-out.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from ..errors import LogAnalyzeError
from .common import DbOption, examples, fail

EngineOption = Annotated[
    str,
    typer.Option(
        "--engine",
        help="Where the detectors run: duckdb (default, every detector), chdb (ClickHouse in "
        "this process, loaded from the DuckDB database) or clickhouse (a server or cluster, "
        "--clickhouse-url). `loganalyze detectors --engine X` lists what runs there.",
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
    chdb_path: Annotated[
        str | None,
        typer.Option("--chdb-path", help="Directory of a chDB store for --engine chdb."),
    ] = None,
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
    engine: str, url: str | None, open_duckdb: Callable[[], Any], name: str, **kwargs: Any
):
    """One detector's Finding on `engine` (chdb: loaded from the DuckDB database that
    `open_duckdb` opens; clickhouse: the server's tables)."""
    from ..engines import detect_on, open_engine, require_support

    require_support(engine, name)
    con = open_duckdb() if engine == "chdb" else None
    handle = open_engine(engine, con, url=url)
    try:
        return detect_on(handle, name, **kwargs)
    finally:
        handle.close()
