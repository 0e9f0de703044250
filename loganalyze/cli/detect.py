"""`loganalyze detectors` (list the canned detectors) and `loganalyze run` (run one)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from ..errors import LogAnalyzeError, UsageError
from .common import (
    DbOption,
    LastOption,
    MemoryLimitOption,
    PathsArgument,
    SinceOption,
    TzOption,
    UntilOption,
    WindowOption,
    examples,
    fail,
    stderr,
    typed_range,
)
from .engines import ChdbPathOption, ClickhouseUrlOption, EngineOption, finding_on_engine
from .pull import ProjectOption, pull_first

FORMATS = ("table", "json", "csv")
CSV_DATETIME = "%Y-%m-%dT%H:%M:%S%.6fZ"


def register(app: typer.Typer) -> None:
    app.command(
        "detectors",
        epilog=examples("loganalyze detectors", "loganalyze detectors --json | jq '.[].name'"),
    )(detectors_command)
    app.command(
        "run",
        epilog=examples(
            "loganalyze run conflict_storms sample_logs/eventlive-incident --window 30s",
            "loganalyze run auth_user_latency --since 2h --format json",
            "loganalyze run status_storms --db prod.duckdb --since 19:00 --tz Asia/Seoul "
            "-p min_count=50",
        ),
    )(run_command)


def detectors_command(
    as_json: Annotated[
        bool,
        typer.Option("--json/--no-json", help="Print the detectors as a JSON array on stdout."),
    ] = False,
    engine: EngineOption = "duckdb",
) -> None:
    """List the detectors: name, title, what each finds and its parameters (--param k=v)."""
    from ..engines import support_table

    try:
        support = support_table(engine)
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    specs = [spec for spec, _ in support]
    unsupported = {spec.name: reason for spec, reason in support if reason}
    if as_json:
        rows = [
            {**_spec_dict(s), "engine": engine, "supported": s.name not in unsupported,
             "unsupported_reason": unsupported.get(s.name)}
            for s in specs
        ]
        print(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    grid = Table(
        title="detectors (loganalyze run NAME; every one also takes --since/--until/"
        "--last/--window)",
        title_justify="left",
        show_lines=True,
    )
    grid.add_column("name", style="bold", no_wrap=True)
    grid.add_column("title / finds")
    grid.add_column("parameters (--param NAME=VALUE)")
    for spec in specs:
        params = "\n".join(
            f"{p.name}: {p.type} = {_show(p.default)}" + (f" — {p.doc}" if p.doc else "")
            for p in spec.params
        )
        finds = f"[bold]{spec.title}[/]\n{spec.finds}"
        if spec.name in unsupported:
            finds += f"\n[red]not on {engine}:[/] {unsupported[spec.name]}"
        grid.add_row(spec.name, finds, params or "-")
    Console().print(grid)


def run_command(
    name: Annotated[str, typer.Argument(help="Detector name (see `loganalyze detectors`).")],
    paths: PathsArgument = None,
    db: DbOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    last: LastOption = None,
    window: WindowOption = "1m",
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            help="Detector parameter NAME=VALUE (repeatable); wins over the detector's params "
            "in the config file.",
        ),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option("--format", help="table (for people), json (array of row objects) or csv."),
    ] = "table",
    project: ProjectOption = None,
    tz: TzOption = None,
    memory_limit: MemoryLimitOption = None,
    engine: EngineOption = "duckdb",
    clickhouse_url: ClickhouseUrlOption = None,
    chdb_path: ChdbPathOption = None,
) -> None:
    """Run one detector over the database (or over log PATHs, ingested in memory first)."""
    from ..analysis import detect
    from ..detectors import parse_param_assignments

    try:
        if fmt not in FORMATS:
            raise UsageError(f"unknown format {fmt!r}", hint="use table, json or csv")
        from .defaults import current_config

        params = {**current_config().detector_params(name), **parse_param_assignments(param)}
        since, until = typed_range(since, until, tz)
        if engine != "supabase":  # there --project names where the detector runs
            pull_first(project, db, since, until, last, paths)
        if engine == "supabase":
            from ..engines.supabase import finding_on_supabase

            finding = finding_on_supabase(project, name, since=since, until=until, last=last,
                                          window=window, **params)
        elif engine == "duckdb":
            con = _open(db, paths, memory_limit)
            finding = detect(con, name, since=since, until=until, last=last, window=window, **params)
        else:
            finding = finding_on_engine(
                engine, clickhouse_url, chdb_path, lambda: _open(db, paths, memory_limit), name,
                has_paths=bool(paths), since=since, until=until, last=last, window=window, **params,
            )
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    if finding.notice:
        stderr.print(f"[yellow]notice:[/] {finding.notice}", highlight=False)
    frame = finding.frame
    if fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
    elif fmt == "csv":
        sys.stdout.write(frame.write_csv(datetime_format=CSV_DATETIME))
    elif frame.height == 0:
        if not finding.notice:
            stderr.print(
                f"{finding.spec.name}: no findings in {finding.time_range.describe()} "
                f"({finding.time_range.describe_data()})",
                highlight=False,
            )
    else:
        from ..report.tables import print_frame

        print_frame(frame)


def _open(db, paths, memory_limit=None):
    """The database to run on: with PATHs, ingest them first (in memory unless --db);
    the detector runs under the analysis memory budget."""
    from ..store import analysis_memory_limit, connect, resolve_db_path
    from .defaults import config_db

    target = resolve_db_path(db if db is not None or paths else config_db(), have_paths=bool(paths))
    budget = analysis_memory_limit(memory_limit)
    if not paths:
        return connect(target, read_only=True, memory_limit=budget)
    from ..ingest import ingest

    con = connect(target, memory_limit=budget)
    ingest(list(paths), con, memory_limit=memory_limit)
    return con


def _show(value: object) -> str:
    from datetime import timedelta

    from ..timeparse import format_duration

    if value is None:
        return "null"
    if isinstance(value, timedelta):
        return format_duration(value)
    return str(value).lower() if isinstance(value, bool) else str(value)


def _spec_dict(spec) -> dict[str, object]:
    return {
        "name": spec.name,
        "title": spec.title,
        "finds": spec.finds,
        "rank": spec.rank,
        "windowed": spec.windowed,
        "subject": list(spec.subject),
        "metrics": list(spec.metrics),
        "details": list(spec.details),
        "events": spec.events,
        "params": [
            {"name": p.name, "type": p.type, "default": _show(p.default), "doc": p.doc}
            for p in spec.params
        ],
    }
