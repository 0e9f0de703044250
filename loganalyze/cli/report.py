"""`loganalyze report` (terminal, markdown, JSON or a self-contained HTML page) and
`loganalyze charts` (each chart as its own PNG, SVG or HTML file)."""

from __future__ import annotations

import enum
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import LogAnalyzeError, UsageError
from .common import (
    DbOption,
    LastOption,
    PathsArgument,
    SinceOption,
    UntilOption,
    WindowOption,
    fail,
    open_logs,
    output_file,
    stderr,
)
from .pull import ProjectOption, pull_first

TERMINAL_WIDTH = 100


class ReportFormat(enum.StrEnum):
    rich = "rich"
    markdown = "markdown"
    json = "json"
    html = "html"


class ChartFormat(enum.StrEnum):
    png = "png"
    svg = "svg"
    html = "html"


TzOption = Annotated[
    str | None,
    typer.Option(
        "--tz",
        help="Zone to show times in (IANA name, e.g. Asia/Seoul); the local zone by default.",
        show_default=False,
    ),
]
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
    app.command("report")(report_command)
    app.command("charts")(charts_command)


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
) -> None:
    """What the logs show: per detector that found something, most severe first, the key
    numbers, top offenders and a per-window sparkline; with --dod the verdicts.

    With PATHs the logs are ingested in memory first; otherwise --db is read. Exits 0
    whatever the logs contain (`loganalyze check` is the command that fails).
    """
    from .. import report as reports

    if output is ReportFormat.html and out is None and sys.stdout.isatty():
        raise fail(
            UsageError(
                "an HTML report is a file, not terminal output",
                hint="add --out report.html (or pipe stdout to a file)",
            )
        )
    try:
        pull_first(project, db, since, until, last, paths)
        con = open_logs(paths or [], db)
        baseline_con = open_logs(baseline, None) if baseline else None
        report = reports.build_report(
            con,
            since=since,
            until=until,
            last=last,
            window=window,
            tz=tz,
            dod=dod,
            baseline=baseline_con,
        )
        if output is ReportFormat.rich:
            _print_rich(report, out)
            return
        if output is ReportFormat.markdown:
            text = reports.render_markdown(report)
        elif output is ReportFormat.json:
            text = reports.render_json(report)
        else:
            text = reports.render_html(report, marks=mark or [])
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    _emit(text, out)


def _print_rich(report, out: Path | None) -> None:
    from rich.console import Console

    from .. import report as reports

    if out is None:
        console = Console()
        if not console.is_terminal:
            # piped: plain text at the width the report is laid out for, not rich's 80
            console = Console(width=TERMINAL_WIDTH)
        reports.render_rich(report, console)
        return
    with output_file(out) as handle:
        reports.render_rich(report, Console(file=handle, width=TERMINAL_WIDTH, no_color=True))
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
) -> None:
    """Write each chart of the report as its own file with a stable name: timeline.FMT,
    then DETECTOR.FMT for every detector that found something. Prints the paths."""
    from .. import report as reports
    from ..report.charts import require_browser

    try:
        if output is not ChartFormat.html:
            require_browser()  # fail before the work, not after it
        con = open_logs(paths or [], db)
        report = reports.build_report(
            con, since=since, until=until, last=last, window=window, tz=tz
        )
        written = reports.write_charts(report, out, fmt=output.value, marks=mark or [])
    except LogAnalyzeError as exc:
        raise fail(exc) from None
    for path in written:
        print(path)
