"""Plotly figures of a report (the incident timeline and one chart per detector that found
something) and their export as files with stable names.

PNG and SVG are drawn by kaleido in a headless Chromium found on this machine (Debian's
`chromium`, or $BROWSER_PATH); nothing is ever downloaded, and plotly.js and MathJax are
never fetched from a CDN.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from ..errors import LogAnalyzeError, UsageError
from ..exit_codes import ExitCode
from ..findings import Finding
from .model import Report
from .timeline import PANELS, window_starts
from .zones import to_zone, zone_label

if TYPE_CHECKING:
    import plotly.graph_objects as go

CHART_FORMATS = ("png", "svg", "html")
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
INSTALL_BROWSER = "apt-get install -y chromium"
PANEL_HEIGHT = 210
TOP_SUBJECTS = 6
CHART_WIDTH = 1100
DETECTOR_HEIGHT = 420


class BrowserMissingError(LogAnalyzeError):
    """PNG/SVG export needs a headless Chromium and none is installed."""

    exit_code = ExitCode.USAGE


class ChartExportError(LogAnalyzeError):
    exit_code = ExitCode.INPUT_ERROR


@dataclass(frozen=True)
class Mark:
    """A vertical marker on the timeline: `2026-11-20T10:05 fix deployed`."""

    at: datetime
    """UTC."""
    label: str


def parse_mark(text: str, zone: str) -> Mark:
    """`TIMESTAMP LABEL`; a timestamp without an offset, or a time of day (`19:05`, today),
    is wall-clock time in `zone`, as for --since."""
    from ..timeparse import parse_instant

    stamp, _, label = text.strip().partition(" ")
    try:
        at = parse_instant(stamp, zone=zone)
    except UsageError:
        raise UsageError(
            f"--mark needs 'TIMESTAMP LABEL', got {text!r}",
            hint='e.g. --mark "2026-11-20T10:05 fix deployed" or --mark "19:05 fix deployed" '
            "(time in the --tz zone)",
        ) from None
    return Mark(at=at, label=label.strip() or stamp)


def _local(frame: pl.DataFrame, column: str, zone: str) -> pl.Series:
    """Instants as wall-clock time in `zone`, zone dropped: plotly draws naive times as
    they are, and the axis title names the zone."""
    return frame[column].dt.convert_time_zone(zone).dt.replace_time_zone(None)


def _local_instant(value: datetime, zone: str) -> datetime:
    return to_zone(value, zone).replace(tzinfo=None)


def _x_range(report: Report) -> list[datetime] | None:
    """Whole windows: a point stands for the window that starts there."""
    span = _window_span(report)
    if span is None:
        return None
    return [_local_instant(span[0], report.tz), _local_instant(span[1], report.tz)]


def timeline_figure(report: Report, marks: Sequence[Mark] = ()) -> go.Figure:
    """Stacked panels on one shared time axis, in the cascade's order."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = len(PANELS)
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.045,
        subplot_titles=[p.title for p in PANELS],
        specs=[[{"secondary_y": p.y2_title is not None}] for p in PANELS],
    )
    timeline = report.timeline
    for row, panel in enumerate(PANELS, start=1):
        data = timeline.filter(pl.col("panel") == panel.key)
        legend = "legend" if row == 1 else f"legend{row}"
        if data.height == 0:
            # plotly.js leaves a subplot without traces undrawn: an invisible trace keeps
            # the empty panel's axes, so "nothing happened" reads as such.
            fig.add_trace(
                go.Scatter(
                    x=_x_range(report) or [],
                    y=[0, 0] if report.start is not None else [],
                    mode="lines",
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                ),
                row=row,
                col=1,
                secondary_y=False if panel.y2_title else None,
            )
            fig.add_annotation(
                text="no events in this range",
                xref="x domain",
                yref="y domain",
                x=0.5,
                y=0.5,
                showarrow=False,
                font={"color": "#888"},
                row=row,
                col=1,
            )
        for (series, axis), part in data.sort("window_start").group_by(
            ["series", "axis"], maintain_order=True
        ):
            fig.add_trace(
                series_trace(report, part, str(series), counts=series not in panel.gauges, legend=legend, dashed=axis == "y2"),
                row=row,
                col=1,
                secondary_y=(axis == "y2") if panel.y2_title else None,
            )
        if panel.y2_title:
            fig.update_yaxes(title_text=panel.y_title, row=row, col=1, secondary_y=False)
            fig.update_yaxes(title_text=panel.y2_title, row=row, col=1, secondary_y=True)
        else:
            fig.update_yaxes(title_text=panel.y_title, row=row, col=1)
    layout: dict = {}
    for row in range(1, rows + 1):
        domain = fig.get_subplot(row, 1).yaxis.domain
        layout["legend" if row == 1 else f"legend{row}"] = {
            "y": domain[1],
            "yanchor": "top",
            "x": 1.08,
            "xanchor": "left",
            "font": {"size": 10},
            "tracegroupgap": 2,
        }
    x_range = _x_range(report)
    fig.update_xaxes(range=x_range, showticklabels=True)
    # zero-based, round ticks on both scales (the second one never mirrors the first's grid)
    fig.update_yaxes(rangemode="tozero", tickmode="auto", nticks=5, tickformat=",~g")
    fig.update_xaxes(title_text=f"time ({zone_label(report.tz, report.start)})", row=rows, col=1)
    fig.update_layout(
        title={"text": f"Incident timeline (per {report.window_text} window)", "x": 0},
        height=PANEL_HEIGHT * rows + 140,
        width=CHART_WIDTH + 200,
        margin={"l": 70, "r": 260, "t": 90, "b": 60},
        hovermode="x unified",
        showlegend=True,
        barmode="stack",
        bargap=0.05,
        **layout,
    )
    shade_uncovered(fig, report)
    add_marks(fig, marks, report.tz)
    return fig


PARTIAL_OPACITY = 0.35


def partial_mask(report: Report, starts: pl.Series) -> list[bool]:
    """For each window start: whether the range covers that window only in part (the
    first or the last window), so its count dips with nothing having changed."""
    if report.start is None or report.end is None:
        return [False] * starts.len()
    # compared as start > end - window: a window near the end of time has no end datetime
    return [
        start < report.start or start > report.end - report.window for start in starts.to_list()
    ]


def series_trace(
    report: Report,
    part: pl.DataFrame,
    name: str,
    *,
    counts: bool,
    legend: str | None = None,
    dashed: bool = False,
    value: str = "value",
) -> go.BaseTraceType:
    """Counts as bars spanning their window (partial windows faded, labelled in the
    hover), measurements (latencies, rates, clients) as lines."""
    import plotly.graph_objects as go

    x = _local(part, "window_start", report.tz)
    extra = {"legend": legend} if legend else {}
    if counts:
        partial = partial_mask(report, part["window_start"])
        return go.Bar(
            x=x,
            y=part[value],
            name=name,
            offset=0,
            width=report.window.total_seconds() * 1000,
            marker={"opacity": [PARTIAL_OPACITY if p else 1.0 for p in partial]},
            customdata=["partial window" if p else "" for p in partial],
            hovertemplate="%{y:,}<extra>%{fullData.name} %{customdata}</extra>",
            **extra,
        )
    return go.Scatter(
        x=x,
        y=part[value],
        name=name,
        mode="lines+markers",
        marker={"size": 4},
        line={"dash": "dot" if dashed else "solid"},
        **extra,
    )


def _window_span(report: Report) -> tuple[datetime, datetime] | None:
    """From the start of the first window to the end of the last (UTC)."""
    if report.start is None or report.end is None:
        return None
    starts = window_starts(report.start, report.end, report.window)
    last = starts[-1]
    # the last window of a range that reaches the end of time ends with it
    end_of_time = datetime.max.replace(tzinfo=last.tzinfo)
    return starts[0], last + report.window if end_of_time - last >= report.window else end_of_time


def uncovered_parts(report: Report) -> list[tuple[datetime, datetime]]:
    """The parts of the first and last windows outside the range (UTC): those windows
    hold fewer seconds of data than the others, so their counts dip without anything
    having changed."""
    span = _window_span(report)
    if span is None:
        return []
    assert report.start is not None and report.end is not None
    parts = []
    if span[0] < report.start:
        parts.append((span[0], report.start))
    if report.end < span[1]:
        parts.append((report.end, span[1]))
    return parts


def shade_uncovered(fig: go.Figure, report: Report) -> None:
    for start, end in uncovered_parts(report):
        fig.add_shape(
            type="rect",
            x0=_local_instant(start, report.tz),
            x1=_local_instant(end, report.tz),
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            fillcolor="#888",
            opacity=0.18,
            line={"width": 0},
            layer="below",
        )
        fig.add_annotation(
            x=_local_instant(start + (end - start) / 2, report.tz),
            xref="x",
            y=1.0,
            yref="paper",
            yanchor="bottom",
            text="no data",
            showarrow=False,
            font={"size": 9, "color": "#777"},
        )


def add_marks(fig: go.Figure, marks: Iterable[Mark], zone: str) -> None:
    """A dashed vertical line through every panel, labelled at the top."""
    for mark in marks:
        x = _local_instant(mark.at, zone)
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"color": "#d62728", "dash": "dash", "width": 1.5},
        )
        fig.add_annotation(
            x=x,
            xref="x",
            y=1.0,
            yref="paper",
            yanchor="bottom",
            yshift=18,  # above the first panel's title
            text=mark.label,
            showarrow=False,
            font={"color": "#d62728"},
        )


def subject_label(result: Finding) -> pl.Expr:
    subjects = result.subject_columns
    if not subjects:
        return pl.lit(result.name)
    return pl.concat_str(
        [pl.col(c).cast(pl.String).fill_null("—").str.slice(0, 48) for c in subjects],
        separator=" · ",
    )


def detector_figure(
    report: Report, result: Finding, marks: Sequence[Mark] = ()
) -> go.Figure:
    """Windowed: the headline value per window for the top subjects (the rest summed as
    'other'); otherwise a bar per top subject."""
    import plotly.graph_objects as go

    value = result.headline_metric or ""
    fig = go.Figure()
    top = result.top_offenders(TOP_SUBJECTS)
    rows = result.series_frame if result.series_frame is not None else result.frame
    if result.windowed and value in rows.columns:
        frame = rows.with_columns(subject_label(result).alias("subject"))
        keep = top.select(subject_label(result).alias("subject"))["subject"]
        frame = frame.with_columns(
            pl.when(pl.col("subject").is_in(keep.implode()))
            .then(pl.col("subject"))
            .otherwise(pl.lit("other"))
            .alias("subject")
        )
        series = frame.group_by(["subject", "window_start"]).agg(result.metric(value).merged())
        order = {label: i for i, label in enumerate([*keep.to_list(), "other"])}
        counts = result.metric(value).adds_up
        for (label,), part in sorted(
            series.sort("window_start").group_by(["subject"], maintain_order=True),
            key=lambda item: order.get(item[0][0], len(order)),
        ):
            fig.add_trace(series_trace(report, part, str(label), counts=counts, value=value))
        fig.update_layout(barmode="stack", bargap=0.05)
        fig.update_xaxes(
            title_text=f"time ({zone_label(report.tz, report.start)})", range=_x_range(report)
        )
        fig.update_yaxes(title_text=f"{axis_title(result, value)} per {report.window_text}", rangemode="tozero")
        add_marks(fig, marks, report.tz)
    else:
        value = telling_metric(result, top)
        labels = top.select(subject_label(result).alias("subject"))["subject"]
        y = top[value] if value in top.columns else pl.Series([1] * top.height)
        fig.add_trace(go.Bar(x=y, y=labels, orientation="h", name=axis_title(result, value)))
        fig.update_yaxes(autorange="reversed")
        fig.update_xaxes(title_text=axis_title(result, value), rangemode="tozero")
    fig.update_layout(
        title={"text": f"{result.title} ({result.name})", "x": 0},
        height=DETECTOR_HEIGHT,
        width=CHART_WIDTH,
        margin={"l": 70, "r": 30, "t": 60, "b": 60},
        legend={"orientation": "h", "y": -0.25, "font": {"size": 10}},
        showlegend=True,
    )
    return fig


def axis_title(result: Finding, metric: str) -> str:
    """A metric's declared label with its unit, for an axis."""
    if metric not in result.spec.metrics:
        return metric
    declared = result.metric(metric)
    return declared.text + (f" ({declared.unit})" if declared.unit else "")


def telling_metric(result: Finding, top: pl.DataFrame) -> str:
    """The metric a bar chart of the top subjects should show: the headline one, unless
    it is the same for every bar (every target of a route shares its request count),
    then the first metric that tells the bars apart."""
    headline = result.headline_metric or ""
    candidates = [headline] + [m for m in result.metric_columns]
    for metric in candidates:
        if metric in top.columns and top[metric].n_unique() > 1:
            return metric
    return headline


def report_figures(
    report: Report, marks: Sequence[Mark] = (), *, redact: bool = True
) -> dict[str, go.Figure]:
    """Stable name → figure: `timeline`, then one per detector that found something;
    `redact` masks secrets and addresses from the logs (see loganalyze.redact)."""
    if redact:
        from ..redact import redact_obj

        report = redact_obj(report)
    figures = {"timeline": timeline_figure(report, marks)}
    for result in report.found:
        figures[result.name] = detector_figure(report, result, marks)
    return figures


def find_browser() -> str | None:
    """$BROWSER_PATH when it points at a program, else a Chromium/Chrome on PATH."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_browser() -> str:
    browser = find_browser()
    if browser is None:
        where = os.environ.get("BROWSER_PATH")
        raise BrowserMissingError(
            "PNG/SVG charts need a headless Chromium and none was found"
            + (f" (BROWSER_PATH={where} is not a program)" if where else ""),
            hint=f"install it with: {INSTALL_BROWSER}   (or use --format html)",
        )
    return browser


def write_charts(
    report: Report,
    out_dir: str | Path,
    *,
    fmt: str = "png",
    marks: Sequence[Mark] = (),
    redact: bool = True,
) -> list[Path]:
    """Write every chart of the report to `out_dir/NAME.FMT`; returns the paths (HTML
    charts share one `plotly.min.js` written beside them)."""
    if fmt not in CHART_FORMATS:
        raise UsageError(f"unknown chart format {fmt!r}", hint="use png, svg or html")
    browser = require_browser() if fmt != "html" else None
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    figures = report_figures(report, marks, redact=redact)
    paths = {name: out / f"{name}.{fmt}" for name in figures}
    if fmt == "html":
        # plotly.js once for the whole set, as plotly.min.js beside the pages (each page
        # loads it from its own folder: offline, no request leaves the machine)
        for name, fig in figures.items():
            fig.write_html(
                paths[name],
                include_plotlyjs="directory",
                full_html=True,
                div_id=f"chart-{name}",
                config={"displaylogo": False},
            )
        return list(paths.values())
    _export_images(figures, paths, fmt, browser)  # type: ignore[arg-type]
    return list(paths.values())


def _export_images(
    figures: dict[str, go.Figure], paths: dict[str, Path], fmt: str, browser: str
) -> None:
    import kaleido

    jobs = [
        {
            "fig": fig,
            "path": paths[name],
            "opts": {
                "format": fmt,
                "width": fig.layout.width or CHART_WIDTH,
                "height": fig.layout.height or DETECTOR_HEIGHT,
                "scale": 2 if fmt == "png" else 1,
            },
        }
        for name, fig in figures.items()
    ]
    try:
        # plotly.js comes from the installed plotly package; mathjax=False keeps kaleido
        # from loading MathJax off a CDN.
        kaleido.write_fig_from_object_sync(jobs, kopts={"path": browser, "mathjax": False})
    except Exception as exc:  # kaleido/choreographer raise many unrelated types
        raise ChartExportError(
            f"the browser at {browser} could not draw the charts: {type(exc).__name__}: {exc}",
            hint="check that it starts headless: " + browser + " --headless --dump-dom about:blank",
        ) from exc
