"""The incident timeline: per-window series read straight from the normalized tables, one
panel per signal of the cascade (database errors → slow Auth → retries and polling), so
the panels can be stacked on one shared time axis.

Each panel is a `.sql` file beside this module returning `window_start, series, axis,
value` (`axis` = 'y' or 'y2' for a panel with a second scale), bound with `$since`,
`$until` and `$window`. Counting panels keep their busiest series and sum the rest as
"other", so a legend stays readable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

import polars as pl

from .query import query_frame

TOP_SERIES = 8

TIMELINE_SCHEMA = {
    "panel": pl.String,
    "window_start": pl.Datetime("us", "UTC"),
    "series": pl.String,
    "axis": pl.String,
    "value": pl.Float64,
}


@dataclass(frozen=True)
class Panel:
    key: str
    title: str
    y_title: str
    y2_title: str | None = None
    counts: bool = False
    """The values are event counts: series beyond the busiest TOP_SERIES are summed."""


PANELS: tuple[Panel, ...] = (
    Panel("http_errors", "HTTP 4xx/5xx by path", "responses", counts=True),
    Panel("sqlstate", "Database errors by SQLSTATE", "errors", counts=True),
    Panel("auth_user", "GET /auth/v1/user: p95 latency and calls", "p95 ms", "calls"),
    Panel("refresh_races", "Refresh-token races", "rejected refreshes"),
    Panel("presence", "Realtime presence events and connected clients", "events", "clients"),
    Panel("polling", "Polling: repeated reads by route", "requests", counts=True),
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


def build_timeline(
    con, start: datetime | None, end: datetime | None, window: timedelta
) -> pl.DataFrame:
    """Every panel's series over `[start, end)`, long format (see TIMELINE_SCHEMA)."""
    if start is None or end is None:
        return empty_timeline()
    params = {"since": start, "until": end, "window": window}
    frames = []
    for panel in PANELS:
        frame = query_frame(con, panel_sql(panel.key), params)
        frame = frame.with_columns(pl.lit(panel.key).alias("panel")).select(
            [pl.col(c).cast(t) for c, t in TIMELINE_SCHEMA.items()]
        )
        frames.append(keep_top_series(frame) if panel.counts else frame)
    timeline = pl.concat(frames)
    name = pl.col("series").replace_strict(SQLSTATE_NAMES, default="", return_dtype=pl.String)
    labelled = pl.when(name != "").then(pl.col("series") + " " + name).otherwise(pl.col("series"))
    return timeline.with_columns(
        pl.when(pl.col("panel") == "sqlstate")
        .then(labelled)
        .otherwise(pl.col("series"))
        .alias("series")
    )
