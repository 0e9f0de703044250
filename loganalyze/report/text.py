"""Text pieces shared by the terminal and markdown reports, so both say the same thing:
the header facts, number and cell formatting, and per-window sparklines."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from ..findings import BUCKET_ORIGIN, Finding
from .model import KeyNumber, Report, key_numbers
from .zones import format_instant, zone_label

SPARK_BLOCKS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 60
CELL_WIDTH = 60


def fmt_number(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "—"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"
    return str(value)


EXAMPLE_WIDTH = 240


def cut(text: str, width: int = EXAMPLE_WIDTH) -> str:
    """One line of at most `width` characters (an ellipsis marks the cut)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def fmt_cell(value: Any, zone: str, width: int = CELL_WIDTH) -> str:
    """One table cell: numbers grouped, instants in the display zone, long text cut."""
    if isinstance(value, datetime):
        return format_instant(value, zone)
    if isinstance(value, timedelta):
        return f"{value.total_seconds():g}s"
    if isinstance(value, int | float) or value is None:
        return fmt_number(value)
    if isinstance(value, list | tuple):
        value = ", ".join(str(v) for v in value)
    text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def window_series(report: Report, result: Finding) -> np.ndarray:
    """The result's headline value in every window of the report's range (zeros where
    the detector found nothing), oldest first."""
    per_window = result.per_window()
    if report.start is None or report.end is None or per_window.height == 0:
        return np.zeros(0)
    step_us = int(report.window / timedelta(microseconds=1))
    first = _bucket_index(report.start, step_us)
    count = max(1, _bucket_index(report.end, step_us, exclusive=True) - first + 1)
    offsets = per_window.select(
        (
            (pl.col("window_start") - pl.lit(BUCKET_ORIGIN)).dt.total_microseconds() // step_us
            - first
        ).alias("index"),
        pl.col("value").fill_null(0),
    ).filter((pl.col("index") >= 0) & (pl.col("index") < count))
    return np.bincount(
        offsets["index"].to_numpy(), weights=offsets["value"].to_numpy(), minlength=count
    )


def _bucket_index(instant: datetime, step_us: int, *, exclusive: bool = False) -> int:
    micros = (instant - BUCKET_ORIGIN) // timedelta(microseconds=1)
    if exclusive:
        micros -= 1
    return int(micros // step_us)


PARTIAL = "·"
"""A window the range covers only in part: its count would dip with nothing changed, so
it is drawn as this mark instead of a bar."""


def partial_windows(report: Report) -> tuple[bool, bool]:
    """Whether the first and the last window of the range are partly outside it."""
    if report.start is None or report.end is None:
        return False, False
    # in microseconds from the origin: a window near the end of time has no datetime
    step_us = int(report.window / timedelta(microseconds=1))
    start_us = (report.start - BUCKET_ORIGIN) // timedelta(microseconds=1)
    end_us = (report.end - BUCKET_ORIGIN) // timedelta(microseconds=1)
    first_start = _bucket_index(report.start, step_us) * step_us
    last_end = (_bucket_index(report.end, step_us, exclusive=True) + 1) * step_us
    return first_start < start_us, end_us < last_end


def report_sparkline(report: Report, result: Finding, width: int = SPARK_WIDTH) -> str:
    """The finding's sparkline with partial first/last windows drawn as PARTIAL."""
    values = window_series(report, result)
    first, last = partial_windows(report) if values.size > 1 else (False, False)
    return sparkline(values, width, partial_first=first, partial_last=last)


def sparkline(
    values: np.ndarray,
    width: int = SPARK_WIDTH,
    *,
    partial_first: bool = False,
    partial_last: bool = False,
) -> str:
    """Unicode blocks, one per window (adjacent windows merged by their peak when there
    are more windows than `width`); an empty window is a space; a partial first or last
    window (when there is more than one cell) is PARTIAL."""
    if values.size == 0:
        return ""
    if values.size > 1 and (partial_first or partial_last):
        text = sparkline(values, width)
        if partial_first:
            text = PARTIAL + text[1:]
        if partial_last:
            text = text[:-1] + PARTIAL
        return text
    if values.size > width:
        per_cell = -(-values.size // width)
        padded = np.zeros(per_cell * (-(-values.size // per_cell)))
        padded[: values.size] = values
        values = padded.reshape(-1, per_cell).max(axis=1)
    top = float(values.max())
    if top <= 0:
        return " " * values.size
    levels = np.ceil(values / top * len(SPARK_BLOCKS)).astype(int) - 1
    chars = np.array(list(SPARK_BLOCKS))[np.clip(levels, 0, len(SPARK_BLOCKS) - 1)]
    return "".join(np.where(values > 0, chars, " ").tolist())


def header_facts(report: Report) -> list[tuple[str, str]]:
    """(label, text) pairs: range, data span, zone, sources, files, rejected rows."""
    zone = report.tz
    facts = [
        (
            "Range",
            f"{format_instant(report.start, zone)} → {format_instant(report.end, zone)}"
            f"  (window {report.window_text})",
        ),
        (
            "Data",
            f"{format_instant(report.data_start, zone)} → {format_instant(report.data_end, zone)}",
        ),
        ("Times in", zone_label(zone, report.data_end or report.start)),
    ]
    if report.narrowed:
        facts.append(("Narrowed to", report.narrowed))
    if report.sources.height:
        sources = " · ".join(
            f"{s} {fmt_number(n)}" for s, n in report.sources.select("source", "rows").iter_rows()
        )
    else:
        sources = "none (the database holds no log rows)"
    facts.append(("Sources", sources))
    if report.files.height:
        formats = (
            report.files.group_by("format")
            .agg(pl.len().alias("files"))
            .sort(["files", "format"], descending=[True, False])
        )
        facts.append(
            (
                "Files",
                f"{report.files.height} ingested ("
                + ", ".join(f"{f} ×{n}" for f, n in formats.iter_rows())
                + ")",
            )
        )
    if report.rejected_rows:
        reasons = ", ".join(
            f"{fmt_cell(reason, zone, 40)}: {fmt_number(n)}"
            for reason, n in report.rejected.head(3).iter_rows()
        )
        more = " …" if report.rejected.height > 3 else ""
        facts.append(("Rejected", f"{fmt_number(report.rejected_rows)} rows ({reasons}{more})"))
    else:
        facts.append(("Rejected", "0 rows"))
    return facts


KEY_METRICS = 4
"""Metrics beyond the event count shown in text reports (JSON carries them all)."""


def key_number_text(result: Finding) -> str:
    numbers = key_numbers(result, metric_limit=KEY_METRICS)
    return " · ".join(f"{k.label} {fmt_number(k.value)}" + _unit_suffix(k) for k in numbers)


def _unit_suffix(number: KeyNumber) -> str:
    """" ms" after a latency; nothing where the label already names what is counted."""
    if not number.unit or number.label.split()[-1] == number.unit:
        return ""
    return " " + number.unit


def caveat_texts(result: Finding) -> list[str]:
    """What limits a finding: declared caveats that apply, and missing inputs."""
    return [*result.caveats, *(f"no input: {m}" for m in result.missing)]


def unjudged_text(report: Report) -> str | None:
    """The detectors whose inputs are missing, each with the input it lacked."""
    if not report.unjudged:
        return None
    return "; ".join(f"{r.name} ({', '.join(r.missing)})" for r in report.unjudged)


def first_sentence(text: str, limit: int = 160) -> str:
    """The opening of a detector's description, for the terminal."""
    flat = " ".join(text.split())
    # a full stop before a capital ends a sentence; "e.g. a" does not
    end = re.search(r"\.\s+(?=[A-Z(`])", flat)
    head = flat[: end.start() + 1] if end and end.start() < limit else flat
    return head if len(head) <= limit else head[: limit - 1].rstrip() + "…"


def seen_text(result: Finding, zone: str) -> str | None:
    """When it started, peaked and stopped — and whether traffic went on after it stopped
    (the fix is visible) or it lasted to the end of the range."""
    started, peak = result.started(), result.peak_window()
    if started is None or peak is None:
        return None
    text = f"started {format_instant(started, zone)}, busiest {format_instant(peak[0], zone)}"
    stopped = result.stopped()
    if stopped is None:
        return text + ", still going at the end of the range"
    text += f", stopped {format_instant(stopped, zone)}"
    if result.traffic_after:
        text += f" while traffic continued ({fmt_number(result.traffic_after)} events after)"
    return text


def offender_rows(
    result: Finding, zone: str, *, compact: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Column names and formatted cells of the top offenders (`compact`: the subjects,
    the events column and two more metrics, for a terminal)."""
    top = result.top_offenders()
    if compact:
        top = top.select(result.subject_columns + result.compact_metrics())
    return list(top.columns), [[fmt_cell(v, zone) for v in row] for row in top.iter_rows()]


SUBJECT_LABELS = {
    "sqlstate": "SQLSTATE",
    "table_name": "table",
    "constraint_name": "constraint",
    "column_name": "column",
    "user_id": "user",
    "status_class": "status class",
    "in_realtime_outage": "during Realtime outage",
    "jobid": "job",
    "window_start": "window",
    "window_end": "until",
    "peak_window": "busiest window",
}
"""Human names of the subject and detail columns detectors share."""


def column_label(result: Finding, column: str) -> str:
    """A column as a person reads it: a metric's declared label (with its unit when the
    label does not name it), else a plain name."""
    if column in result.spec.metrics:
        metric = result.metric(column)
        unit = metric.unit
        if unit and unit not in metric.text.split():
            return f"{metric.text} ({unit})"
        return metric.text
    return SUBJECT_LABELS.get(column, column.replace("_", " "))


def offenders_title(result: Finding) -> str:
    """"Top tables and constraints", named after what the rows are about."""
    subjects = [column_label(result, c) for c in result.subject_columns]
    return "Top " + (" · ".join(subjects) if subjects else "rows")


def headline_lines(report: Report) -> list[str]:
    """The headline as sentences; a healthy range says so."""
    if report.headlines:
        return [h.sentence for h in report.headlines]
    if report.start is None:
        return ["No data: the database holds no log rows."]
    checked = len(report.quiet) + len(report.found)
    text = f"Healthy: no detector found a problem in this range ({_count(checked, 'detector')} looked"
    if report.unjudged:
        text += f"; {_count(len(report.unjudged), 'detector')} could not judge — see below"
    return [text + ")."]


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def chain_lines(report: Report) -> list[str]:
    """Each causal chain on one line: title, then its steps joined by arrows."""
    return [f"{c.title}: " + " → ".join(c.steps) for c in report.chains]
