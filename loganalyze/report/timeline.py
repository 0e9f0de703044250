"""The incident timeline: one panel per signal of the cascade (database errors → slow
Auth → retries and polling), per window, stacked on one shared time axis.

A panel's series come either from a `.sql` file beside this module (signals no detector
reports as such: every 4xx/5xx by path, every error SQLSTATE, the overall p95 of
/auth/v1/user), returning `window_start, series, axis, value` bound with `$since`,
`$until` and `$window`; or from a detector's frame, so that "a refresh race" or
"polling" means on the timeline exactly what it means in the detector's panel. `axis` is
'y', or 'y2' for a panel's second scale. Counting panels keep their busiest series and
sum the rest as "other", so a legend stays readable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import resources

import polars as pl

from .query import query_frame

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
    """A panel series taken from a detector's frame: `value` merged per window (`sum`
    or `max`), split by the `series` columns (or one series named `label`)."""

    detector: str
    value: str
    merge: str = "sum"
    axis: str = "y"
    label: str | None = None
    series: tuple[str, ...] = ()


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    y_title: str
    y2_title: str | None = None
    counts: bool = False
    """The values are event counts: series beyond the busiest TOP_SERIES are summed."""
    sources: tuple[FromDetector, ...] = ()
    """Empty: the panel is `timeline/<key>.sql`."""
    gauges: tuple[str, ...] = ()
    """Series that measure (latency, clients connected) rather than count: a window
    without rows has no value for them, where a count is 0."""


PANELS: tuple[Panel, ...] = (
    Panel("http_errors", "HTTP 4xx/5xx by path", "responses", counts=True),
    Panel("sqlstate", "Database errors by SQLSTATE", "errors", counts=True),
    Panel(
        "auth_user",
        "GET /auth/v1/user: p95 latency and calls",
        "p95 ms",
        "calls",
        gauges=("p95 ms",),
    ),
    Panel(
        "refresh_races",
        "Refresh-token races",
        "rejected refreshes",
        sources=(FromDetector("refresh_token_races", "count", label="refresh_token_already_used"),),
    ),
    Panel(
        "presence",
        "Realtime presence events and connected clients",
        "events",
        "clients",
        sources=(
            FromDetector("realtime_presence", "presence_events", label="presence events"),
            FromDetector(
                "realtime_presence", "connected_max", "max", "y2", label="connected clients"
            ),
        ),
        gauges=("connected clients",),
    ),
    Panel(
        "polling",
        "Polling: requests on polling endpoints",
        "requests",
        counts=True,
        sources=(FromDetector("polling_pressure", "count", series=("source", "path")),),
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


def panel_sql(key: str) -> str:
    return resources.files(__package__).joinpath("timeline", key + ".sql").read_text("utf-8")


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


BUCKET_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
"""DuckDB's time_bucket origin for sub-month widths: windows are aligned to it."""


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


def build_timeline(
    con,
    start: datetime | None,
    end: datetime | None,
    window: timedelta,
    frames: Mapping[str, pl.DataFrame] | None = None,
) -> pl.DataFrame:
    """Every panel's series over `[start, end)`, long format (see TIMELINE_SCHEMA);
    `frames` are the detector frames of the same range and window."""
    if start is None or end is None:
        return empty_timeline()
    params = {"since": start, "until": end, "window": window}
    parts = []
    for panel in PANELS:
        if panel.sources:
            frame = pl.concat(
                [_from_detector(panel.key, source, frames or {}) for source in panel.sources]
            )
        else:
            frame = query_frame(con, panel_sql(panel.key), params)
            frame = frame.with_columns(pl.lit(panel.key).alias("panel")).select(
                [pl.col(c).cast(t) for c, t in TIMELINE_SCHEMA.items()]
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


def _from_detector(
    panel: str, source: FromDetector, frames: Mapping[str, pl.DataFrame]
) -> pl.DataFrame:
    frame = frames.get(source.detector)
    if frame is None or frame.height == 0 or source.value not in frame.columns:
        return empty_timeline()
    if source.series:
        series = pl.concat_str(
            [pl.col(c).cast(pl.String).fill_null("?") for c in source.series], separator=" "
        )
    else:
        series = pl.lit(source.label or source.value)
    value = pl.col(source.value).cast(pl.Float64)
    merged = value.max() if source.merge == "max" else value.sum()
    return (
        frame.with_columns(series.alias("series"))
        .group_by(["window_start", "series"])
        .agg(merged.alias("value"))
        .with_columns(pl.lit(panel).alias("panel"), pl.lit(source.axis).alias("axis"))
        .select([pl.col(c).cast(t) for c, t in TIMELINE_SCHEMA.items()])
        .sort(["window_start", "series"])
    )
