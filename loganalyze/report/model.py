"""The report as data: what every renderer (rich, markdown, JSON, HTML, chart files)
shows, computed once from the database.

`build_report` runs the detectors over the range and gathers the header facts, the
incident timeline and (optionally) the DoD verdicts. The summaries a reader looks at
first — key numbers, top offenders, a per-window series for the sparkline — are derived
from the detector frames with polars, never row by row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ..store import LOG_TABLES, quote_ident
from .query import query_frame
from .timeline import build_timeline, empty_timeline
from .zones import resolve_zone

TOP_OFFENDERS = 5


@dataclass(frozen=True)
class KeyNumber:
    label: str
    value: float | int | str


@dataclass
class DetectorResult:
    """One detector's frame and its spec (a `loganalyze.detectors.DetectorSpec`)."""

    spec: Any
    frame: pl.DataFrame

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def title(self) -> str:
        return self.spec.title

    @property
    def rank(self) -> int:
        return int(self.spec.rank)

    @property
    def events_column(self) -> str | None:
        events = getattr(self.spec, "events", None)
        return events if events and events in self.frame.columns else None

    @property
    def windowed(self) -> bool:
        return bool(self.spec.windowed) and "window_start" in self.frame.columns

    @property
    def subject_columns(self) -> list[str]:
        return [c for c in self.spec.subject if c in self.frame.columns and c != "window_start"]

    @property
    def metric_columns(self) -> list[str]:
        return [c for c in self.spec.metrics if c in self.frame.columns]

    @property
    def found(self) -> bool:
        """Something to show: rows, and when the detector counts events, a non-zero count."""
        if self.frame.height == 0:
            return False
        events = self.events_column
        if events is None:
            return True
        return bool((self.frame[events].fill_null(0) > 0).any())

    @property
    def total_events(self) -> float | None:
        events = self.events_column
        if events is None:
            return None
        return _number(self.frame[events].sum())

    def per_window(self) -> pl.DataFrame:
        """`window_start, value`: events per window (or the first metric's peak)."""
        if not self.windowed:
            return pl.DataFrame(
                schema={"window_start": pl.Datetime("us", "UTC"), "value": pl.Float64}
            )
        value = self._headline_expr()
        return (
            self.frame.group_by("window_start")
            .agg(value.cast(pl.Float64).alias("value"))
            .sort("window_start")
        )

    def _headline_expr(self) -> pl.Expr:
        events = self.events_column
        if events is not None:
            return pl.col(events).sum()
        metrics = self.metric_columns
        if metrics:
            return pl.col(metrics[0]).max()
        return pl.len()

    @property
    def headline_label(self) -> str:
        events = self.events_column
        if events is not None:
            return events
        metrics = self.metric_columns
        return metrics[0] if metrics else "rows"

    def key_numbers(self, metric_limit: int | None = None) -> list[KeyNumber]:
        """Total events, the busiest window, then each metric's total (counts) or peak
        (latencies, rates); `metric_limit` keeps the first few metrics of the header."""
        frame = self.frame
        numbers: list[KeyNumber] = []
        events = self.events_column
        if events is not None and self.windowed:
            numbers.append(KeyNumber(f"total {events}", _number(frame[events].sum())))
        if self.windowed and frame.height:
            per_window = self.per_window()
            numbers.append(
                KeyNumber(
                    f"peak {self.headline_label} per window", _number(per_window["value"].max())
                )
            )
            numbers.append(KeyNumber("windows", per_window.height))
        # p95 is what on-call compares against an SLO: it leads among the metrics
        metrics = sorted(
            (m for m in self.metric_columns if m != events), key=lambda m: "p95" not in m
        )
        if events is not None and not self.windowed:
            metrics.insert(0, events)
        for metric in metrics if metric_limit is None else metrics[:metric_limit]:
            # rows of a windowless detector often overlap (a route's total beside its
            # parts), so only their peaks are safe to quote
            adds = self.windowed and _is_count(frame, metric, events)
            value = _number(frame[metric].sum() if adds else frame[metric].max())
            if value:
                numbers.append(KeyNumber(f"{'total' if adds else 'max'} {metric}", value))
        if not self.windowed or not frame.height:
            numbers.append(KeyNumber("rows", frame.height))
        return numbers

    def first_seen(self) -> datetime | None:
        return self.frame["window_start"].min() if self.windowed and self.frame.height else None  # type: ignore[return-value]

    def last_seen(self) -> datetime | None:
        return self.frame["window_start"].max() if self.windowed and self.frame.height else None  # type: ignore[return-value]

    def compact_metrics(self, limit: int = 2) -> list[str]:
        """The events column and the first `limit` other metrics: what fits a terminal."""
        events = self.events_column
        others = [m for m in self.metric_columns if m != events][:limit]
        return ([events] if events else []) + others

    def top_offenders(self, n: int = TOP_OFFENDERS) -> pl.DataFrame:
        """The subjects with the most events (or the highest first metric), windows merged."""
        subjects = self.subject_columns
        frame = self.frame
        if not subjects or frame.height == 0:
            return frame.head(0).select(subjects + self.metric_columns)
        events = self.events_column
        aggs = []
        if events is not None:
            aggs.append(pl.col(events).sum())
        for metric in self.metric_columns:
            if metric != events:
                aggs.append(_merge_metric(frame, metric, events))
        order = events if events is not None else next(iter(self.metric_columns), None)
        grouped = frame.group_by(subjects).agg(aggs) if aggs else frame.select(subjects).unique()
        if order is not None:
            grouped = grouped.sort(
                [order, *subjects], descending=[True] + [False] * len(subjects), nulls_last=True
            )
        else:
            grouped = grouped.sort(subjects, nulls_last=True)
        return grouped.head(n)


NOT_ADDITIVE_PREFIXES = ("peak_", "max_", "min_")
NOT_ADDITIVE_SUFFIXES = ("_max", "_min", "_peak")
DISTINCT_NOUNS = ("users", "participants", "attendees", "sessions", "clients")
"""Counts of distinct things: the same user in two windows is one user, not two."""


def _is_count(frame: pl.DataFrame, metric: str, events: str | None) -> bool:
    """Whether a metric adds up across windows and rows: the events column and whole-number
    metrics, except peaks/extremes and counts of distinct things."""
    if metric == events:
        return True
    return (
        frame.schema[metric].is_integer()
        and not metric.startswith(NOT_ADDITIVE_PREFIXES)
        and not metric.endswith(NOT_ADDITIVE_SUFFIXES + DISTINCT_NOUNS)
    )


def _merge_metric(frame: pl.DataFrame, metric: str, events: str | None) -> pl.Expr:
    """Across windows a count adds up; latencies, rates and peaks keep their maximum."""
    return pl.col(metric).sum() if _is_count(frame, metric, events) else pl.col(metric).max()


def _number(value: Any) -> float | int:
    if value is None:
        return 0
    if isinstance(value, float):
        if math.isnan(value):
            return 0
        return int(value) if value.is_integer() else value
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


@dataclass
class DodVerdict:
    """One DoD check as the report shows it (from `loganalyze.dod.check`)."""

    id: str
    title: str
    severity: str
    verdict: str
    observed: str
    threshold: str
    detail: str = ""


@dataclass
class DodSummary:
    file: str
    verdicts: list[DodVerdict]
    outcome: str
    error: str | None = None
    result: Any = None


@dataclass
class Report:
    start: datetime | None
    end: datetime | None
    data_start: datetime | None
    data_end: datetime | None
    window: timedelta
    window_text: str
    tz: str
    sources: pl.DataFrame
    files: pl.DataFrame
    rejected: pl.DataFrame
    results: list[DetectorResult]
    timeline: pl.DataFrame = field(default_factory=empty_timeline)
    dod: DodSummary | None = None
    notice: str | None = None
    """Why the range shows nothing (no data, or a range outside the data's span)."""

    @property
    def found(self) -> list[DetectorResult]:
        """Detectors that found something, most severe first."""
        return [f for f in self.results if f.found]

    @property
    def quiet(self) -> list[DetectorResult]:
        return [f for f in self.results if not f.found]

    @property
    def rejected_rows(self) -> int:
        return int(self.rejected["rows"].sum()) if self.rejected.height else 0

    @property
    def total_rows(self) -> int:
        return int(self.sources["rows"].sum()) if self.sources.height else 0


def sources_frame(con) -> pl.DataFrame:
    """Rows per log table that holds any."""
    parts = " UNION ALL ".join(
        "SELECT ? AS source, count(*) AS rows FROM " + quote_ident(t) for t in LOG_TABLES
    )
    frame = query_frame(
        con, "SELECT source, rows FROM (" + parts + ") WHERE rows > 0", list(LOG_TABLES)
    )
    return frame.with_columns(pl.col("rows").cast(pl.Int64))


def files_frame(con) -> pl.DataFrame:
    return query_frame(
        con,
        "SELECT file, format, source, rows, duplicates, rejected FROM ingested_files "
        "ORDER BY file_id",
    )


def rejected_frame(con) -> pl.DataFrame:
    """Rejected rows by reason, most frequent first."""
    return query_frame(
        con,
        "SELECT reason, count(*) AS rows FROM rejected_rows GROUP BY reason "
        "ORDER BY rows DESC, reason",
    ).with_columns(pl.col("rows").cast(pl.Int64))


def order_results(results: list[DetectorResult]) -> list[DetectorResult]:
    return sorted(results, key=lambda r: (r.rank, r.name))


def _per_window(spec: Any) -> dict[str, object]:
    """Storm detectors merge a storm's windows into one episode row by default; a report
    draws per-window series and sums, so it asks for a row per window."""
    return {"episodes": False} if any(p.name == "episodes" for p in spec.params) else {}


def build_report(
    con,
    *,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    last: str | None = None,
    window: str | timedelta = "1m",
    tz: str | None = None,
    dod: str | Path | None = None,
    baseline: Any = None,
    detectors: list[str] | None = None,
) -> Report:
    """Run the detectors over the range and gather everything a report shows.

    `since`/`until`/`last`/`window` mean what they mean for `loganalyze run`; `tz` is the
    display zone (None = the local zone); `dod` a DoD file whose verdicts are added, its
    relative thresholds judged against `baseline` (a connection holding a baseline run).
    """
    from .. import detectors as detector_lib
    from ..timeparse import parse_duration, resolve_range

    zone = resolve_zone(tz)
    step = parse_duration(window)
    window_text = window if isinstance(window, str) else _duration_text(step)
    time_range = resolve_range(con, since=since, until=until, last=last)
    specs = detector_lib.list_detectors()
    if detectors is not None:
        specs = [detector_lib.get_detector(name) for name in detectors]
    if time_range.start is None:
        # an empty database: nothing to run the detectors over
        results = [DetectorResult(spec, _empty_frame(spec)) for spec in specs]
    else:
        results = [
            DetectorResult(
                spec,
                detector_lib.detect(
                    con, spec.name, window=step, time_range=time_range, **_per_window(spec)
                ).frame,
            )
            for spec in specs
        ]
    results = order_results(results)
    report = Report(
        start=time_range.start,
        end=time_range.end,
        data_start=time_range.data_start,
        data_end=time_range.data_end,
        window=step,
        window_text=window_text,
        tz=zone,
        sources=sources_frame(con),
        files=files_frame(con),
        rejected=rejected_frame(con),
        results=results,
        notice=detector_lib.window_notice(time_range, con),
        timeline=build_timeline(
            con, time_range.start, time_range.end, step, {r.name: r.frame for r in results}
        ),
    )
    if dod is not None:
        from .dodview import run_dod

        report.dod = run_dod(con, dod, baseline, since=time_range.start, until=time_range.end)
    return report


def _empty_frame(spec: Any) -> pl.DataFrame:
    columns = getattr(spec, "columns", ("window_start", *spec.subject, *spec.metrics))
    return pl.DataFrame(schema={c: pl.Null for c in columns})


def _duration_text(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
