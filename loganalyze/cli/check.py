"""`loganalyze check`: judge a DoD file against logs, for CI (exit codes in ExitCode)."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import LogAnalyzeError
from .common import (
    DbOption,
    LastOption,
    MemoryLimitOption,
    PathsArgument,
    RedactOption,
    SinceOption,
    TzOption,
    UntilOption,
    examples,
    fail,
    open_logs,
    typed_range,
)
from .engines import ChdbPathOption, ClickhouseUrlOption, EngineOption, data_on_engine
from .pull import ProjectOption, pull_first

BaselineSinceOption = Annotated[
    str | None,
    typer.Option(
        "--baseline-since",
        help="Take the baseline from this range of the same database (or of --baseline): "
        "its start (as --since). Compares before and after a fix without cutting files.",
        show_default=False,
    ),
]
BaselineUntilOption = Annotated[
    str | None,
    typer.Option(
        "--baseline-until",
        help="End of the baseline range (as --until).",
        show_default=False,
    ),
]


class OutputFormat(enum.StrEnum):
    rich = "rich"
    json = "json"
    markdown = "markdown"


def register(app: typer.Typer) -> None:
    app.command(
        "check",
        epilog=examples(
            "loganalyze check sample_logs/eventlive.dod.toml sample_logs/eventlive-fixed "
            "--baseline sample_logs/eventlive-incident",
            "loganalyze check dod.toml --db prod.duckdb --since 2026-03-12T19:00 --tz Asia/Seoul "
            "--junit dod.xml",
            "loganalyze check dod.toml --db prod.duckdb --since 10:30 --until 11:00 "
            "--baseline-since 09:00 --baseline-until 09:30",
        ),
    )(check_command)


def check_command(
    dod_file: Annotated[
        Path, typer.Argument(help="The DoD file (TOML; see docs/check.md).", show_default=False)
    ],
    paths: PathsArgument = None,
    db: DbOption = None,
    baseline: Annotated[
        list[Path] | None,
        typer.Option(
            "--baseline",
            help="A baseline run for relative thresholds (baseline.count, drop()): a .duckdb "
            "database, or log files/directories (ingested in memory). Repeat for several paths.",
            show_default=False,
        ),
    ] = None,
    since: SinceOption = None,
    until: UntilOption = None,
    last: LastOption = None,
    baseline_since: BaselineSinceOption = None,
    baseline_until: BaselineUntilOption = None,
    junit: Annotated[
        Path | None,
        typer.Option(
            "--junit", help="Also write a JUnit XML report here (one testcase per check)."
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="rich (terminal), json (only JSON on stdout), or markdown."),
    ] = OutputFormat.rich,
    project: ProjectOption = None,
    tz: TzOption = None,
    redact: RedactOption = None,
    memory_limit: MemoryLimitOption = None,
    engine: EngineOption = "duckdb",
    clickhouse_url: ClickhouseUrlOption = None,
    chdb_path: ChdbPathOption = None,
) -> None:
    """Judge the Definitions of Done of DOD_FILE against logs, for CI.

    With PATHs the logs are ingested into memory (or into --db); otherwise --db is read.
    --engine chdb|clickhouse runs the detectors there (docs/scale-out.md); a check on a
    detector the engine cannot run is inconclusive (exit 4), naming why.

    Exit codes:
    0 every check passed (warn-severity failures included);
    1 a fail-severity check failed;
    2 usage or DoD-file error;
    3 input error (unreadable logs or database);
    4 nothing failed, but a check lacked the data to decide;
    5 with --project: the pull could not confirm every slice (nothing is judged).
    """
    from ..dod import check, load_dod

    try:
        dod = load_dod(dod_file)
        since, until = typed_range(since, until, tz)
        baseline_since, baseline_until = typed_range(baseline_since, baseline_until, tz)
        pull_first(project, db, since, until, last, paths, incomplete_fails=True)
        with engine_inputs(
            engine, clickhouse_url, chdb_path, paths, db, baseline, memory_limit
        ) as (con, baseline_con):
            report = check(
                con,
                dod,
                baseline_con,
                since=since,
                until=until,
                last=last,
                baseline_since=baseline_since,
                baseline_until=baseline_until,
            )
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    masked = redact is not False  # CI logs and JUnit files get shared: on unless --no-redact
    _render(report, output, masked)
    if junit is not None:
        from ..dod.junit import write_junit

        write_junit(report, junit, redact=masked)
    raise typer.Exit(int(report.exit_code))


@contextmanager
def engine_inputs(
    engine: str,
    clickhouse_url: str | None,
    chdb_path: str | None,
    paths: list[Path] | None,
    db: Path | None,
    baseline: list[Path] | None,
    memory_limit: str | None,
) -> Iterator[tuple[Any, Any]]:
    """The run's data and the baseline's (or None) on `engine`, closed afterwards."""
    with ExitStack() as stack:
        con = stack.enter_context(
            data_on_engine(
                engine, clickhouse_url, chdb_path,
                lambda: open_logs(paths or [], db, memory_limit), has_paths=bool(paths),
            )
        )  # fmt: skip
        baseline_con = None
        if baseline:
            baseline_con = stack.enter_context(
                data_on_engine(
                    engine, clickhouse_url, chdb_path,
                    lambda: open_logs(baseline, None, memory_limit), has_paths=True,
                    what="--baseline logs",
                )
            )  # fmt: skip
        yield con, baseline_con


def _render(report, output: OutputFormat, redact: bool) -> None:
    from ..dod import render

    if output is OutputFormat.json:
        print(render.to_json(report, redact=redact))
    elif output is OutputFormat.markdown:
        print(render.to_markdown(report, redact=redact), end="")
    else:
        from rich.console import Console

        render.print_rich(report, Console(), redact=redact)
