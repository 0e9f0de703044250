"""What a detector's result means, decided once.

A detector's header declares every metric with its kind (queries/README.md, "Header"):
the kind says how the metric merges across rows and windows — a count adds up, a peak or
a latency keeps its worst value, an interval between requests its shortest — so the
report, the DoD checker, charts and JSON never guess from a column name.

`Finding` is one detector's result over one range and window: its frame, the inputs it
stood on (rows per table, the ones missing), its caveats, and the facts every output
quotes (totals, per-window series, top offenders, when it started and stopped). It is
produced by `loganalyze.analysis` and consumed by `loganalyze.report` and
`loganalyze.dod`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from .timeparse import format_duration

if TYPE_CHECKING:
    from .detectors import DetectorSpec
    from .timeparse import TimeRange

# Windows are aligned on DuckDB's own default origin for time_bucket (a Monday, midnight
# UTC), so that minutes, hours, days and weeks start where a person expects.
BUCKET_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)

METRIC_KINDS: dict[str, str] = {
    "count": "sum",  # events or things that add up across rows and windows
    "distinct": "max",  # distinct things (users): the same user in two rows is one user
    "peak": "max",  # the largest value of something (busiest window, most calls)
    "min": "min",  # the smallest value of something
    "latency": "max",  # a duration statistic: the worst (slowest) is what matters
    "rate": "max",  # something per time unit or per request: the worst is the highest
    "level": "max",  # a measured level (a baseline median, attendees)
    "ratio": "max",  # a share between 0 and 1
    "flag": "max",  # 1 when a condition holds in the row
    "interval": "min",  # time between a client's requests: the worst is the shortest
}
"""Each metric kind and how its values merge across rows and windows."""

TOP_OFFENDERS = 5


@dataclass(frozen=True)
class Metric:
    """One declared metric column of a detector."""

    name: str
    kind: str
    unit: str = ""
    label: str = ""

    @property
    def adds_up(self) -> bool:
        """Whether values add up across rows and windows (only counts do)."""
        return self.kind == "count"

    @property
    def merge(self) -> str:
        """`sum`, `max` or `min`: how values of several rows or windows combine."""
        return METRIC_KINDS[self.kind]

    def merged(self, column: pl.Expr | None = None) -> pl.Expr:
        column = pl.col(self.name) if column is None else column
        return getattr(column, self.merge)()

    @property
    def text(self) -> str:
        """The human label (falls back to the column name)."""
        return self.label or self.name.replace("_", " ")


@dataclass(frozen=True)
class Caveat:
    """A condition of the data that limits what a detector's result can say: `table`
    without rows in the range, or `table.column` with rows but no value in that column."""

    table: str
    column: str | None
    text: str


def windows_in_range(start: datetime | None, end: datetime | None, width: timedelta) -> int | None:
    """How many aligned windows of `width` the half-open range [start, end) touches."""
    if start is None or end is None:
        return None
    first = (start - BUCKET_ORIGIN) // width
    last = (end - timedelta(microseconds=1) - BUCKET_ORIGIN) // width
    return max(int(last - first) + 1, 1)


def window_start_of(instant: datetime, width: timedelta) -> datetime:
    return BUCKET_ORIGIN + ((instant - BUCKET_ORIGIN) // width) * width


@dataclass(frozen=True)
class Figure:
    """One number a report quotes about a finding."""

    label: str
    value: float | int
    unit: str = ""
    metric: str | None = None


@dataclass
class Finding:
    """One detector's result over one range and window, with what it stood on."""

    spec: DetectorSpec
    frame: pl.DataFrame
    time_range: TimeRange
    params: dict[str, Any] = field(default_factory=dict)
    window: timedelta = timedelta(minutes=1)
    notice: str | None = None
    """Set when the range selects no events (the database is empty, or its events lie
    elsewhere): the text to show instead of a bare empty table."""
    inputs: dict[str, int] = field(default_factory=dict)
    """Rows in the range of every table the detector needs."""
    missing: tuple[str, ...] = ()
    """One sentence per `needs` group none of whose tables has rows in the range."""
    caveats: tuple[str, ...] = ()
    """What the data lacks that limits this result (declared `caveat`s that apply)."""
    series_frame: pl.DataFrame | None = None
    """Rows per window when the main frame merges windows (storm episodes)."""
    traffic_after: int = 0
    """Rows of the input tables after the finding stopped, inside the range: above 0, the
    events stopped while traffic went on."""

    # ------------------------------------------------------------ declared shape
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
    def conclusive(self) -> bool:
        """False when an input the detector needs has no rows: an empty result then
        means "no data", not "nothing wrong"."""
        return not self.missing

    @property
    def events_column(self) -> str | None:
        events = self.spec.events
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

    def metric(self, name: str) -> Metric:
        return self.spec.metric(name)

    # ------------------------------------------------------------ facts
    @property
    def found(self) -> bool:
        """Something to show: rows, and when the detector counts events, a non-zero count."""
        if self.frame.height == 0:
            return False
        events = self.events_column
        if events is None:
            return True
        return bool((self.frame[events].fill_null(0) > 0).any())

    def rollup_rows(self, frame: pl.DataFrame | None = None) -> pl.DataFrame:
        """The rows whose counts add up to the whole: a detector whose rows include
        breakdowns of other rows (a route's total beside its targets) declares its
        total rows as `rollup`; when `frame` holds none of them, every row counts."""
        return rollup_rows(self.spec, self.frame if frame is None else frame)

    def total(self, metric: str, frame: pl.DataFrame | None = None) -> float | int | None:
        """A metric over the whole range: counts add up, other kinds keep their merge
        (worst latency, peak, shortest interval). None when no row carries a value."""
        rows = self.rollup_rows(frame)
        if rows.height == 0 or metric not in rows.columns:
            return 0 if self.metric(metric).adds_up else None
        value = rows.select(self.metric(metric).merged()).item()
        return None if value is None else _number(value)

    @property
    def total_events(self) -> float | int | None:
        events = self.events_column
        return None if events is None else self.total(events)

    @property
    def headline_metric(self) -> str | None:
        events = self.events_column
        if events is not None:
            return events
        metrics = self.metric_columns
        return metrics[0] if metrics else None

    @property
    def headline_label(self) -> str:
        metric = self.headline_metric
        return self.metric(metric).text if metric else "rows"

    def per_window(self) -> pl.DataFrame:
        """`window_start, value`: the headline metric per window (counts summed)."""
        frame = self.series_frame if self.series_frame is not None else self.frame
        empty = pl.DataFrame(schema={"window_start": pl.Datetime("us", "UTC"), "value": pl.Float64})
        metric = self.headline_metric
        if not self.windowed or metric is None or frame.height == 0:
            return empty
        return (
            frame.group_by("window_start")
            .agg(self.metric(metric).merged().cast(pl.Float64).alias("value"))
            .drop_nulls("value")
            .sort("window_start")
        )

    def started(self) -> datetime | None:
        """The start of the first window with events."""
        series = self.per_window().filter(pl.col("value") > 0)
        return series["window_start"].min() if series.height else None  # type: ignore[return-value]

    def stopped(self) -> datetime | None:
        """The end of the last window with events (None while they reach the range's end)."""
        series = self.per_window().filter(pl.col("value") > 0)
        if not series.height:
            return None
        last: datetime = series["window_start"].max()  # type: ignore[assignment]
        if datetime.max.replace(tzinfo=UTC) - last < self.window:
            return None  # a window at the end of time (a row dated 9999) never stops
        last_end = last + self.window
        end = self.time_range.end
        if end is not None and last_end >= window_start_of(
            end - timedelta(microseconds=1), self.window
        ):
            return None  # the last (possibly partial) window still has events
        return last_end

    def peak_window(self) -> tuple[datetime, float] | None:
        series = self.per_window()
        if not series.height:
            return None
        row = series.sort(["value", "window_start"], descending=[True, False]).row(0)
        return row[0], _number(row[1])

    def figures(self, limit: int | None = None) -> list[Figure]:
        """The numbers a report quotes: the headline total, the busiest window, then each
        declared metric's total (counts) or merged value (others), most telling first."""
        out: list[Figure] = []
        headline = self.headline_metric
        if headline is not None and self.windowed:
            metric = self.metric(headline)
            out.append(Figure(metric.text, self.total(headline) or 0, metric.unit, headline))
            peak = self.peak_window()
            if peak is not None and self.per_window().height > 1:
                out.append(
                    Figure(f"busiest {format_duration(self.window)}", peak[1], metric.unit, None)
                )
        others = [m for m in self.metric_columns if not (self.windowed and m == headline)]
        # p95 is what on-call compares against an SLO: it leads among the other metrics
        others.sort(key=lambda m: "p95" not in m)
        for name in others if limit is None else others[:limit]:
            value = self.total(name)
            if value:
                metric = self.metric(name)
                prefix = (
                    "" if metric.adds_up or metric.kind in ("peak", "min") else _merge_word(metric)
                )
                out.append(Figure(prefix + metric.text, value, metric.unit, name))
        return out

    def compact_metrics(self, limit: int = 2) -> list[str]:
        """The events column and the first `limit` other metrics: what fits a terminal."""
        events = self.events_column
        others = [m for m in self.metric_columns if m != events][:limit]
        return ([events] if events else []) + others

    def top_offenders(self, n: int = TOP_OFFENDERS) -> pl.DataFrame:
        """The subjects with the most events (or the worst first metric), windows merged."""
        subjects = self.subject_columns
        frame = self.frame
        metrics = self.metric_columns
        if not subjects or frame.height == 0:
            return frame.head(0).select(subjects + metrics)
        aggs = [self.metric(m).merged() for m in metrics]
        order = self.headline_metric
        grouped = frame.group_by(subjects).agg(aggs) if aggs else frame.select(subjects).unique()
        if order is not None:
            descending = self.metric(order).merge != "min"
            grouped = grouped.sort(
                [order, *subjects],
                descending=[descending] + [False] * len(subjects),
                nulls_last=True,
            )
        else:
            grouped = grouped.sort(subjects, nulls_last=True)
        return grouped.head(n)


NARROWING_COLUMNS: dict[str, tuple[str, ...]] = {
    "path": ("path", "route"),
    "status": ("status", "status_class"),
    "table": ("table_name", "relation", "target"),
    "user": ("user_id",),
}
"""Each report filter (`--path`, `--status`, `--table`, `--user`) and the subject columns
of a finding it narrows."""


@dataclass(frozen=True)
class Narrowing:
    """Filters that narrow every finding to the rows about one path, status, table or
    user. A value ending in `*` matches as a prefix; a status is a code (409) or a class
    (4xx, 5xx)."""

    path: str | None = None
    status: str | None = None
    table: str | None = None
    user: str | None = None

    @property
    def active(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}

    def describe(self) -> str:
        return ", ".join(f"{k} {v}" for k, v in self.active.items())

    def unsupported(self, columns: list[str] | tuple[str, ...]) -> list[str]:
        """The active filters a frame with `columns` cannot be narrowed by."""
        return [
            name
            for name in self.active
            if not any(c in columns for c in NARROWING_COLUMNS[name])
        ]

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The rows matching every active filter (each on the columns the frame has)."""
        for name, value in self.active.items():
            conditions = [
                _matches(name, column, value, frame.schema[column])
                for column in NARROWING_COLUMNS[name]
                if column in frame.columns
            ]
            if conditions:
                frame = frame.filter(pl.any_horizontal(conditions).fill_null(False))
        return frame


def _matches(name: str, column: str, value: str, dtype: pl.DataType) -> pl.Expr:
    text = pl.col(column).cast(pl.String)
    if name == "status":
        wanted = value.strip().lower()
        if wanted.endswith("xx") and len(wanted) == 3 and wanted[0].isdigit():
            low = int(wanted[0]) * 100
            if dtype.is_integer():
                return pl.col(column).is_between(low, low + 99)
            return text.str.to_lowercase().str.starts_with(wanted[0])
        return text == wanted
    if value.endswith("*"):
        return text.str.starts_with(value[:-1])
    return text == value


def rollup_rows(spec: DetectorSpec, frame: pl.DataFrame) -> pl.DataFrame:
    """See `Finding.rollup_rows`."""
    if spec.rollup is None or frame.height == 0 or spec.rollup[0] not in frame.columns:
        return frame
    column, value = spec.rollup
    rows = frame.filter(pl.col(column).cast(pl.String) == value)
    return rows if rows.height else frame


def format_value(value: float | None, unit: str) -> str:
    """A value as the reports show it: percentages for fractions, grouped digits."""
    if value is None:
        return "—"
    if unit == "%":
        return f"{value * 100:.1f}%"
    if float(value).is_integer() and abs(value) < 1e15:
        text = f"{int(value):,}"
    else:
        text = f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} {unit}".strip() if unit else text


def _merge_word(metric: Metric) -> str:
    return {"max": "worst " if metric.kind == "latency" else "max ", "min": "min "}.get(
        metric.merge, ""
    )


def _number(value: Any) -> float | int:
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        if math.isnan(value):
            return 0
        return int(value) if value.is_integer() else value
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


__all__ = [
    "BUCKET_ORIGIN",
    "METRIC_KINDS",
    "Caveat",
    "Figure",
    "Finding",
    "Metric",
    "Narrowing",
    "format_value",
    "rollup_rows",
    "window_start_of",
    "windows_in_range",
]
