"""Reports people read: `build_report` computes a Report from the database once; the
renderers show it in a terminal (rich), as markdown, as JSON, as one self-contained HTML
page, or as chart files. rich and plotly are imported only by the renderer that needs
them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..findings import Finding
from .model import Report, build_report

if TYPE_CHECKING:
    from rich.console import Console

    from .charts import Mark


# `redact` masks secrets and addresses taken from the logs (loganalyze.redact): on by
# default for everything that is written to be shared, off for the terminal view.


def render_rich(report: Report, console: Console, *, redact: bool = False) -> None:
    from .console import render_rich as render

    if redact:
        from ..redact import redact_obj

        report = redact_obj(report)
    render(report, console)


def render_markdown(report: Report, *, redact: bool = True) -> str:
    from .markdown import render_markdown as render

    return render(report, redact=redact)


def render_json(report: Report, *, redact: bool = True) -> str:
    from .jsonout import render_json as render

    return render(report, redact=redact)


def render_html(report: Report, marks: Sequence[Mark | str] = (), *, redact: bool = True) -> str:
    """`marks`: Mark objects or `"2026-11-20T10:05 fix deployed"` strings (a time without
    an offset is read in the report's zone)."""
    from .htmlpage import render_html as render

    return render(report, parse_marks(report, marks), redact=redact)


def write_charts(
    report: Report,
    out_dir: str | Path,
    *,
    fmt: str = "png",
    marks: Sequence[Mark | str] = (),
    redact: bool = True,
) -> list[Path]:
    """Each chart as its own file in `out_dir` (`timeline.FMT`, `<detector>.FMT`)."""
    from .charts import write_charts as write

    return write(report, out_dir, fmt=fmt, marks=parse_marks(report, marks), redact=redact)


def report_figures(
    report: Report, marks: Sequence[Mark | str] = (), *, redact: bool = True
) -> dict:
    """Stable name → plotly Figure: `timeline` (the stacked incident panels), then one per
    detector that found something; for notebooks."""
    from .charts import report_figures as figures

    return figures(report, parse_marks(report, marks), redact=redact)


def parse_marks(report: Report, marks: Sequence[Mark | str]) -> list[Mark]:
    from .charts import Mark, parse_mark

    return [m if isinstance(m, Mark) else parse_mark(m, report.tz) for m in marks]


__all__ = [
    "Finding",
    "Report",
    "build_report",
    "parse_marks",
    "render_html",
    "render_json",
    "render_markdown",
    "render_rich",
    "report_figures",
    "write_charts",
]
