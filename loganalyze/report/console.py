"""The on-call terminal view: a header, then one panel per detector that found something,
most severe first, then the DoD verdicts. Fits a 100-column terminal; rich drops colour
by itself when the output is not a terminal."""

from __future__ import annotations

from rich import box
from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..findings import Finding
from .model import Report
from .text import (
    PARTIAL,
    caveat_texts,
    chain_lines,
    column_label,
    first_sentence,
    header_facts,
    headline_lines,
    key_number_text,
    offender_rows,
    offenders_title,
    report_sparkline,
    seen_text,
    unjudged_text,
)

VERDICT_STYLES = {"PASS": "green", "FAIL": "bold red", "WARN": "yellow", "INCONCLUSIVE": "magenta"}


def render_rich(report: Report, console: Console) -> None:
    """Print the report on `console` (tests pass `Console(file=StringIO(), width=100)`)."""
    console.print(_header(report))
    if report.notice:
        console.print(Text("note: " + report.notice, style="yellow"))
    console.print(_headline(report))
    if report.dod is not None:
        console.print(_dod_table(report))
    for result in report.found:
        console.print(_result_panel(report, result, console.width))
    if report.quiet:
        console.print(
            Text("Nothing found by: ", style="dim")
            + Text(", ".join(r.name for r in report.quiet), style="dim")
        )
    unjudged = unjudged_text(report)
    if unjudged:
        console.print(Text("Not judged: ", style="magenta") + Text(unjudged))


def _headline(report: Report) -> Panel:
    """The few findings that matter, one sentence each, and the causal chains."""
    healthy = not report.headlines
    lines = [
        Text(("✓ " if healthy else "• ") + text, style="green" if healthy else "")
        for text in headline_lines(report)
    ]
    lines += [Text("chain: ", style="bold") + Text(text) for text in chain_lines(report)]
    return Panel(
        Group(*lines),
        title="[bold]Headline[/]",
        title_align="left",
        border_style="green" if healthy else "red",
        box=box.ROUNDED,
    )


def _header(report: Report) -> Panel:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for label, value in header_facts(report):
        grid.add_row(label, value)
    return Panel(grid, title=Text(report.title), title_align="left", box=box.ROUNDED)


PANEL_CHROME = 4
"""Columns a panel's border and padding take from the console width."""
COLUMN_GAP = 3
TEXT_MIN = 8
TEXT_MAX = 28


def fit_columns(
    columns: list[str], rows: list[list[str]], numeric: set[str], width: int
) -> list[int]:
    """The positions of the columns that fit `width` whole: every number keeps all its
    digits, text columns fold down to TEXT_MIN; metric columns are dropped from the right
    (the caller says so) rather than cropped."""

    def need(position: int) -> int:
        longest = max([len(row[position]) for row in rows] + [1])
        if columns[position] in numeric:
            header = max(len(word) for word in columns[position].split())
            return max(longest, header)
        return min(max(longest, TEXT_MIN), TEXT_MAX)

    kept = list(range(len(columns)))
    while kept:
        total = sum(need(i) for i in kept) + COLUMN_GAP * (len(kept) - 1)
        droppable = [i for i in kept if columns[i] in numeric]
        if total <= width or len(droppable) <= 1:
            break
        kept.remove(droppable[-1])
    return kept


def _result_panel(report: Report, result: Finding, width: int = 100) -> Panel:
    parts: list = [
        Text(first_sentence(result.spec.finds), style="dim"),
        Text(key_number_text(result)),
    ]
    seen = seen_text(result, report.tz)
    if seen:
        parts.append(Text(seen, style="dim"))
    parts.extend(Text("caveat: " + text, style="magenta") for text in caveat_texts(result))
    columns, rows = offender_rows(result, report.tz, compact=True)
    if rows:
        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, expand=False)
        labels = [column_label(result, c) for c in columns]
        numeric = {column_label(result, c) for c in result.metric_columns}
        kept = fit_columns(labels, rows, numeric, width - PANEL_CHROME)
        dropped = [labels[i] for i in range(len(labels)) if i not in kept]
        columns = [labels[i] for i in kept]
        rows = [[row[i] for i in kept] for row in rows]
        widths = [
            max([len(row[i]) for row in rows] + [max(len(w) for w in c.split())])
            for i, c in enumerate(columns)
        ]
        # numbers keep every digit; text (messages, paths) shares what is left and folds
        room = width - PANEL_CHROME - COLUMN_GAP * (len(columns) - 1)
        room -= sum(w for c, w in zip(columns, widths, strict=True) if c in numeric)
        texts = [w for c, w in zip(columns, widths, strict=True) if c not in numeric]
        share = max(TEXT_MIN, room // max(1, len(texts)))
        for column, longest in zip(columns, widths, strict=True):
            is_number = column in numeric
            # fixed widths: a header folds onto several lines, a number keeps every digit,
            # text shares what is left and folds
            table.add_column(
                column,
                justify="right" if is_number else "left",
                overflow="fold",
                width=longest if is_number else max(TEXT_MIN, min(longest, share, TEXT_MAX)),
            )
        for row in rows:
            table.add_row(*row)
        parts.append(Text(offenders_title(result), style="bold"))
        parts.append(table)
        if dropped:
            parts.append(
                Text(
                    f"not shown at this width: {', '.join(dropped)} (--format markdown or json "
                    "has every column)",
                    style="dim",
                )
            )
    spark = report_sparkline(report, result)
    if spark.strip():
        parts.append(
            Text(f"{result.headline_label} per {report.window_text}  ", style="dim")
            + Text(spark, style="cyan")
            + Text(f"  {PARTIAL} partial window" if PARTIAL in spark else "", style="dim")
        )
    style = "red" if result.rank < 30 else "yellow" if result.rank < 60 else "blue"
    return Panel(
        Group(*parts),
        title=f"[bold]{result.title}[/] [dim]({result.name})[/]",
        title_align="left",
        border_style=style,
        box=box.ROUNDED,
    )


def _dod_table(report: Report) -> Group:
    """The verdicts as `loganalyze check` prints them."""
    from ..dod.render import rich_renderables

    assert report.dod is not None
    return Group(Text("Definitions of Done", style="bold"), *rich_renderables(report.dod))
