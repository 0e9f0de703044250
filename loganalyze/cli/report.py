"""`loganalyze report` (terminal, markdown, JSON or a self-contained HTML page) and
`loganalyze charts` (each chart as its own PNG, SVG or HTML file)."""

from __future__ import annotations

import enum
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import LogAnalyzeError, UsageError
from .check import BaselineSinceOption, BaselineUntilOption, engine_inputs
from .common import (
    DbOption,
    DetectorParamOption,
    LastOption,
    MemoryLimitOption,
    PathsArgument,
    RedactOption,
    SinceOption,
    TzOption,
    UntilOption,
    WindowOption,
    examples,
    fail,
    open_logs,
    output_file,
    parse_detector_params,
    stderr,
    typed_range,
)
from .engines import ChdbPathOption, ClickhouseUrlOption, EngineOption
from .pull import ProjectOption, pull_first

TERMINAL_WIDTH = 100
"""The width of a report written to a file with --out."""
PIPED_WIDTH = 80


class ReportFormat(enum.StrEnum):
    rich = "rich"
    markdown = "markdown"
    json = "json"
    html = "html"


class ChartFormat(enum.StrEnum):
    png = "png"
    svg = "svg"
    html = "html"


MarkOption = Annotated[
    list[str] | None,
    typer.Option(
        "--mark",
        help='A vertical marker on the timeline: "2026-11-20T10:05 fix deployed" (time in '
        "--tz unless it has an offset). Repeatable.",
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    app.command(
        "report",
        epilog=examples(
            "loganalyze report sample_logs/eventlive-incident --tz Asia/Seoul",
            "loganalyze report --since 19:00 --format html --out incident.html "
            '--mark "19:05 fix deployed" --title "Webinar outage"',
            "loganalyze report logs/ --dod dod.toml -p conflict_storms.min_count=20 "
            "--format markdown > postmortem.md",
        ),
    )(report_command)
    app.command(
        "charts",
        epilog=examples(
            "loganalyze charts sample_logs/eventlive-incident --out charts/ --format png",
            "loganalyze charts --db incident.duckdb --last 30m --format html --out charts/",
        ),
    )(charts_command)


def report_command(
    paths: PathsArgument = None,
    db: DbOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    last: LastOption = None,
    window: WindowOption = "1m",
    tz: TzOption = None,
    dod: Annotated[
        Path | None,
        typer.Option("--dod", help="Also judge this DoD file and show its verdicts."),
    ] = None,
    baseline: Annotated[
        list[Path] | None,
        typer.Option(
            "--baseline",
            help="With --dod: the baseline run for relative thresholds (drop(), baseline.x), "
            "a .duckdb database or log paths. Repeatable.",
            show_default=False,
        ),
    ] = None,
    baseline_since: BaselineSinceOption = None,
    baseline_until: BaselineUntilOption = None,
    output: Annotated[
        ReportFormat,
        typer.Option(
            "--format",
            help="rich (terminal), markdown (postmortem docs), json (everything), html "
            "(one self-contained page with the incident timeline).",
        ),
    ] = ReportFormat.rich,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Write to this file instead of stdout.", show_default=False),
    ] = None,
    mark: MarkOption = None,
    project: ProjectOption = None,
    title: Annotated[
        str | None,
        typer.Option(
            "--title", help="The report's title (default: loganalyze report).", show_default=False
        ),
    ] = None,
    param: DetectorParamOption = None,
    redact: RedactOption = None,
    memory_limit: MemoryLimitOption = None,
    path: Annotated[
        str | None,
        typer.Option(
            "--path",
            help="Narrow every finding to this path or app route (a trailing * matches a "
            "prefix: /rest/v1/*).",
            show_default=False,
        ),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status", help="Narrow every finding to this status (409) or class (4xx, 5xx).",
            show_default=False,
        ),
    ] = None,
    table: Annotated[
        str | None,
        typer.Option("--table", help="Narrow every finding to this table.", show_default=False),
    ] = None,
    user: Annotated[
        str | None,
        typer.Option("--user", help="Narrow every finding to this user id.", show_default=False),
    ] = None,
    engine: EngineOption = "duckdb",
    clickhouse_url: ClickhouseUrlOption = None,
    chdb_path: ChdbPathOption = None,
) -> None:
    """What the logs show: the headline (the findings that matter, one sentence each),
    causal chains, the DoD verdicts with --dod, then per detector that found something the
    key numbers, top rows and a per-window sparkline.

    --path/--status/--table/--user narrow every finding; a detector whose rows are not
    about that (e.g. --user on Realtime presence) is listed as not judged, never shown
    with numbers about everything.

    With PATHs the logs are ingested in memory first; otherwise --db is read. Exits 0
    whatever the logs contain (`loganalyze check` is the command that fails).

    --engine chdb|clickhouse runs the detectors there (docs/scale-out.md); a detector the
    engine cannot run is listed as not judged, naming the engine and why.
    """
    from .. import report as reports
    from ..findings import Narrowing

    if output is ReportFormat.html and out is None and sys.stdout.isatty():
        raise fail(
            UsageError(
                "an HTML report is a file, not terminal output",
                hint="add --out report.html (or pipe stdout to a file)",
            )
        )
    try:
        from .defaults import current_config

        since, until = typed_range(since, until, tz)
        baseline_since, baseline_until = typed_range(baseline_since, baseline_until, tz)
        params = parse_detector_params(param, current_config().params)
        pull_first(project, db, since, until, last, paths)
        with engine_inputs(
            engine, clickhouse_url, chdb_path, paths, db, baseline, memory_limit
        ) as (con, baseline_con):
            verdicts = None
            if dod is not None:
                from ..dod import check

                verdicts = check(
                    con,
                    dod,
                    baseline_con,
                    since=since,
                    until=until,
                    last=last,
                    baseline_since=baseline_since,
                    baseline_until=baseline_until,
                )
            report = reports.build_report(
                con,
                since=since,
                until=until,
                last=last,
                window=window,
                tz=tz,
                dod=verdicts,
                params=params,
                title=title,
                narrowing=Narrowing(path=path, status=status, table=table, user=user),
            )
        if output is ReportFormat.rich:
            _print_rich(report, out, redact=bool(redact))  # the terminal: off unless asked
            return
        masked = redact is not False  # files get shared: on unless --no-redact
        if output is ReportFormat.markdown:
            text = reports.render_markdown(report, redact=masked)
        elif output is ReportFormat.json:
            text = reports.render_json(report, redact=masked)
        else:
            text = reports.render_html(report, marks=mark or [], redact=masked)
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    _emit(text, out)


def _piped_width() -> int:
    try:
        return max(60, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return PIPED_WIDTH


def _print_rich(report, out: Path | None, *, redact: bool = False) -> None:
    from rich.console import Console

    from .. import report as reports

    if out is None:
        console = Console()
        if not console.is_terminal:
            # piped (a CI log): $COLUMNS when set, else the 80 columns CI logs have
            console = Console(width=_piped_width())
        reports.render_rich(report, console, redact=redact)
        return
    with output_file(out) as handle:
        reports.render_rich(
            report, Console(file=handle, width=TERMINAL_WIDTH, no_color=True), redact=redact
        )
    stderr.print(f"wrote {out}", highlight=False)


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        return
    with output_file(out) as handle:
        handle.write(text)
    stderr.print(f"wrote {out} ({len(text.encode('utf-8')):,} bytes)", highlight=False)


def charts_command(
    paths: PathsArgument = None,
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory for the chart files (created if missing)."),
    ] = Path("charts"),
    output: Annotated[
        ChartFormat,
        typer.Option(
            "--format",
            help="png or svg (drawn by a headless Chromium: Debian's `chromium`), or html "
            "(self-contained, no browser needed).",
        ),
    ] = ChartFormat.png,
    db: DbOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    last: LastOption = None,
    window: WindowOption = "1m",
    tz: TzOption = None,
    mark: MarkOption = None,
    param: DetectorParamOption = None,
    redact: RedactOption = None,
) -> None:
    """Write each chart of the report as its own file with a stable name: timeline.FMT,
    then DETECTOR.FMT for every detector that found something. Prints the paths."""
    from .. import report as reports
    from ..report.charts import require_browser

    try:
        if output is not ChartFormat.html:
            require_browser()  # fail before the work, not after it
        from .defaults import current_config

        since, until = typed_range(since, until, tz)
        params = parse_detector_params(param, current_config().params)
        con = open_logs(paths or [], db)
        report = reports.build_report(
            con, since=since, until=until, last=last, window=window, tz=tz, params=params
        )
        written = reports.write_charts(
            report, out, fmt=output.value, marks=mark or [], redact=redact is not False
        )
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    for path in written:
        print(path)
