"""The incident timeline: one panel per signal of the cascade (database errors → slow
Auth → retries and polling), per window, stacked on one shared time axis.

Every panel series is a detector's finding over the report's analysis, so "a database
error", "a refresh race" or "polling" means on the timeline exactly what it means in the
detector's own section, and a panel can never disagree with its detector. A series is a
declared metric of the detector merged per window by its kind (counts add, latencies keep
their worst), split by subject columns or named by a label; `axis` is 'y', or 'y2' for a
panel's second scale. Counting panels keep their busiest series and sum the rest as
"other", so a legend stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from ..findings import BUCKET_ORIGIN

TOP_SERIES = 8

TIMELINE_SCHEMA: dict[str, pl.DataType] = {
    "panel": pl.String(),
    "window_start": pl.Datetime("us", "UTC"),
    "series": pl.String(),
    "axis": pl.String(),
    "value": pl.Float64(),
}


@dataclass(frozen=True)
class FromDetector:
    """A panel series: a detector's metric merged per window, split by the `series`
    columns (or one series named `label`), with the detector run with `params`."""

    detector: str
    value: str
    axis: str = "y"
    label: str | None = None
    series: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict, hash=False)
    prefixes: tuple[tuple[str, str], ...] = ()
    """Leading words of a series name replaced for the legend (("edge ", "") drops one)."""


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    y_title: str
    sources: tuple[FromDetector, ...]
    y2_title: str | None = None
    counts: bool = False
    """The values are event counts: series beyond the busiest TOP_SERIES are summed."""
    gauges: tuple[str, ...] = ()
    """Series that measure (latency, clients connected) rather than count: a window
    without rows has no value for them, where a count is 0."""


EVERY_ERROR_WINDOW = {"min_count": 1, "multiple": 0.0, "episodes": False}
"""status_storms parameters under which every window with an error response is a row."""

PANELS: tuple[Panel, ...] = (
    Panel(
        "http_errors",
        "HTTP 4xx/5xx by path",
        "responses",
        (FromDetector("status_storms", "count", series=("source", "path", "status_class"), params=EVERY_ERROR_WINDOW,
                      prefixes=(("edge ", ""), ("vercel ", "app "))),),
        counts=True,
    ),
    Panel(
        "sqlstate",
        "Database errors by SQLSTATE",
        "errors",
        (FromDetector("db_errors", "count", series=("sqlstate",)),),
        counts=True,
    ),
    Panel(
        "auth_user",
        "GET /auth/v1/user: p95 latency and calls",
        "p95 ms",
        (
            FromDetector("auth_user_latency", "p95_ms", label="p95 ms", params={"per_caller": False}),
            FromDetector("auth_user_latency", "count", "y2", label="calls", params={"per_caller": False}),
        ),
        y2_title="calls",
        gauges=("p95 ms",),
    ),
    Panel(
        "refresh_races",
        "Refresh-token races",
        "rejected refreshes",
        (FromDetector("refresh_token_races", "count", label="refresh_token_already_used"),),
    ),
    Panel(
        "presence",
        "Realtime presence events and connected clients",
        "events",
        (
            FromDetector("realtime_presence", "presence_events", label="presence events"),
            FromDetector("realtime_presence", "connected_max", "y2", label="connected clients"),
        ),
        y2_title="clients",
        gauges=("connected clients",),
    ),
    Panel(
        "polling",
        "Polling: requests on polling endpoints",
        "requests",
        (FromDetector("polling_pressure", "count", series=("source", "path")),),
        counts=True,
    ),
)
"""Top to bottom in the cascade's order."""

SQLSTATE_NAMES = {
    "23505": "unique_violation",
    "23503": "foreign_key_violation",
    "42703": "undefined_column",
    "42P01": "undefined_table",
    "42501": "insufficient_privilege",
    "42883": "undefined_function",
    "25P02": "in_failed_sql_transaction",
    "57014": "query_canceled",
    "40001": "serialization_failure",
    "40P01": "deadlock_detected",
    "53300": "too_many_connections",
    "PGRST116": "singular response",
    "PGRST204": "column not in schema cache",
    "PGRST205": "table not in schema cache",
}
"""Legend labels for the SQLSTATEs of the incident and its neighbours."""


def empty_timeline() -> pl.DataFrame:
    return pl.DataFrame(schema=TIMELINE_SCHEMA)


def keep_top_series(frame: pl.DataFrame, top: int = TOP_SERIES) -> pl.DataFrame:
    """The `top` series with the most events over the range; the others summed as
    'other' (ties broken by name, so the choice is stable)."""
    totals = frame.group_by("series").agg(pl.col("value").sum().alias("total"))
    kept = totals.sort(["total", "series"], descending=[True, False]).head(top)["series"]
    if totals.height <= top:
        return frame
    return (
        frame.with_columns(
            pl.when(pl.col("series").is_in(kept.implode()))
            .then(pl.col("series"))
            .otherwise(pl.lit("other"))
            .alias("series")
        )
        .group_by(["panel", "window_start", "series", "axis"])
        .agg(pl.col("value").sum())
        .select(list(TIMELINE_SCHEMA))
        .sort(["window_start", "series"])
    )


def window_starts(start: datetime, end: datetime, window: timedelta) -> pl.Series:
    """Every window of `[start, end)` as time_bucket numbers them."""
    first = BUCKET_ORIGIN + ((start - BUCKET_ORIGIN) // window) * window
    return pl.datetime_range(
        first, end - timedelta(microseconds=1), window, time_unit="us", eager=True
    ).alias("window_start")


def fill_empty_windows(
    frame: pl.DataFrame,
    start: datetime,
    end: datetime,
    window: timedelta,
    gauges: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Counting series get an explicit 0 in windows without events, so a line drops to
    zero instead of bridging the gap."""
    counting = frame.filter(~pl.col("series").is_in(list(gauges)))
    if counting.height == 0:
        return frame
    keys = counting.select("panel", "series", "axis").unique(maintain_order=True)
    grid = keys.join(window_starts(start, end, window).to_frame(), how="cross")
    filled = (
        grid.join(counting, on=["panel", "series", "axis", "window_start"], how="left")
        .with_columns(pl.col("value").fill_null(0.0))
        .select(list(TIMELINE_SCHEMA))
    )
    measured = frame.filter(pl.col("series").is_in(list(gauges)))
    return pl.concat([filled, measured]).sort(["window_start", "series"])


def build_timeline(analysis: Any, window: timedelta) -> pl.DataFrame:
    """Every panel's series over the analysis range, long format (see TIMELINE_SCHEMA)."""
    start, end = analysis.time_range.start, analysis.time_range.end
    if start is None or end is None:
        return empty_timeline()
    parts = []
    for panel in PANELS:
        frame = pl.concat(
            [_from_detector(panel.key, source, analysis, window) for source in panel.sources]
        )
        if panel.counts:
            frame = keep_top_series(frame)
        parts.append(fill_empty_windows(frame, start, end, window, panel.gauges))
    timeline = pl.concat(parts)
    name = pl.col("series").replace_strict(SQLSTATE_NAMES, default="", return_dtype=pl.String)
    labelled = pl.when(name != "").then(pl.col("series") + " " + name).otherwise(pl.col("series"))
    return timeline.with_columns(
        pl.when(pl.col("panel") == "sqlstate")
        .then(labelled)
        .otherwise(pl.col("series"))
        .alias("series")
    )


def _from_detector(panel: str, source: FromDetector, analysis: Any, window: timedelta) -> pl.DataFrame:
    finding = analysis.finding(source.detector, window=window, **source.params)
    frame = finding.series_frame if finding.series_frame is not None else finding.frame
    if frame.height == 0:
        return empty_timeline()
    if source.series:
        series = pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("?") for c in source.series], separator=" "
        )
    else:
        series = pl.lit(source.label or source.value)
    for old, new in source.prefixes:
        series = pl.when(series.str.starts_with(old)).then(pl.lit(new) + series.str.strip_prefix(old)).otherwise(series)
    merged = finding.metric(source.value).merged(pl.col(source.value).cast(pl.Float64))
    return (
        frame.with_columns(series.alias("series"))
        .group_by(["window_start", "series"])
        .agg(merged.alias("value"))
        .drop_nulls("value")
        .with_columns(pl.lit(panel).alias("panel"), pl.lit(source.axis).alias("axis"))
        .select([pl.col(c).cast(t) for c, t in TIMELINE_SCHEMA.items()])
        .sort(["window_start", "series"])
    )
