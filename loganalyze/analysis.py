"""One analysis over one range: detectors → `Finding`s.

An `Analysis` resolves the range once, runs detectors over it and returns `Finding`s
that carry, besides the frame, what the result stood on: the rows of every input table
the detector needs (an empty result over missing inputs is "no data", not "nothing
wrong"), the caveats that apply to this data, and a per-window series for detectors
whose rows merge windows.

Results several detectors read with the same arguments (the route attribution, the
participant-minutes) are built once per analysis into temp tables and dropped when it
closes, so nothing outlives the analysis and no later write can leave a stale result.

    with Analysis(con, last="30m", window="1m") as analysis:
        storms = analysis.finding("conflict_storms")
        every = analysis.findings()
"""

from __future__ import annotations

import contextlib
import itertools
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from .detectors import (
    DEFAULT_WINDOW,
    WHOLE_RANGE,
    DetectorSpec,
    execute,
    get_detector,
    list_detectors,
    prepare,
    resolve_params,
)
from .findings import BUCKET_ORIGIN, Finding, Narrowing
from .store import LOG_TABLES, quote_ident
from .timeparse import TimeRange, bounded_window, resolve_range

_NOWHERE = datetime(1970, 1, 1, tzinfo=UTC)
# The width of the single window of an unbounded range (an empty database).
_UNBOUNDED = timedelta(days=365_000)
_DAY = timedelta(days=1)
_session_ids = itertools.count(1)


LINE_TEXT: dict[str, str] = {
    "edge_logs": "coalesce(event_message, concat_ws(' ', method, path, CAST(status AS VARCHAR)))",
    "postgres_logs": "concat_ws(' ', severity || ':', CASE WHEN sqlstate IS NOT NULL THEN '[' || sqlstate || ']' END, message, CASE WHEN statement IS NOT NULL THEN '— STATEMENT: ' || statement END)",
    "auth_logs": "coalesce(event_message, msg)",
    "realtime_logs": "message",
    "postgrest_logs": "message",
    "function_edge_logs": "message",
    "supavisor_logs": "message",
    "vercel_logs": "concat_ws(' ', method, path, CAST(status AS VARCHAR), message)",
    "cron_runs": "concat_ws(' ', 'job', CAST(jobid AS VARCHAR), status || ':', command, '→', return_message)",
}
"""How one row of each log table reads as a line, for example lines in reports."""


EXAMPLE_FILTERS = {"path": "path", "status": "status", "user": "user_id"}
"""The log-table column each report filter narrows example lines by (--table has none:
no log line names its table in a column)."""


def _like_pattern(name: str, value: str) -> str:
    """A report filter as a LIKE pattern: `prefix*`, a status class (`4xx`), else the
    value itself with LIKE's wildcards escaped."""
    if name == "status" and value.lower().endswith("xx"):
        return value[0] + "%"
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped[:-1] + "%" if value.endswith("*") else escaped


def table_columns(con, table: str) -> set[str]:
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE table_name = $t AND NOT internal",
        {"t": table},
    ).fetchall()
    return {r[0] for r in rows}


class EmptyRangeWarning(UserWarning):
    """The analysed range holds no events while the database has events elsewhere."""


@dataclass(frozen=True)
class SharedResult:
    """A table macro several detectors call with the same arguments over one range: an
    analysis builds it once into a temp table and detector SQL calling exactly `call`
    reads the table instead."""

    call: str
    params: tuple[str, ...]


SHARED_RESULTS = (
    # hot_path_cost and load_projection: the attribution ASOF join is their main cost.
    SharedResult("det_route_calls($since, $until, $burst_gap)", ("since", "until", "burst_gap")),
    SharedResult("det_participant_minutes($since, $until)", ("since", "until")),
    # auth_user_latency runs per caller and, for the report's timeline, over all callers.
    SharedResult(
        "det_auth_calls($since, $until, '/auth/v1/user', $match_tolerance, $prefer)",
        ("since", "until", "match_tolerance", "prefer"),
    ),
    # db_errors and schema_errors: each error once across three logs (two ASOF joins).
    SharedResult(
        "det_db_errors($since, $until, $match_tolerance)", ("since", "until", "match_tolerance")
    ),
)


def window_buckets(
    window: str | timedelta, time_range: TimeRange
) -> tuple[timedelta, datetime, str | None]:
    """Bucket width, origin and a note for `$window`/`$origin`: a duration on the fixed
    origin (widened, with the note saying so, when the range would hold too many
    windows), or `"all"` for one window covering the whole range."""
    if isinstance(window, str) and window.strip().lower() == WHOLE_RANGE:
        if time_range.start is None or time_range.end is None:
            return _UNBOUNDED, BUCKET_ORIGIN, None
        span = time_range.end - time_range.start
        if span >= _DAY:
            # time_bucket takes whole days or a sub-day width, never a mix.
            span = timedelta(days=-(-span // _DAY))
        return span, time_range.start, None
    # one stray timestamp years away must not make a detector build millions of windows
    bounded = bounded_window(time_range, window)
    return bounded.width, BUCKET_ORIGIN, bounded.note


def window_notice(time_range: TimeRange, con=None) -> str | None:
    """The text to show when the range selects no event, else None. Without `con` only
    the data's span is consulted; with it, a range inside a gap of the data counts too."""
    if not time_range.has_data:
        return "no events: " + time_range.describe_data()
    empty = not time_range.overlaps_data()
    if not empty and con is not None:
        empty = sum(table_rows(con, t, time_range) for t in LOG_TABLES) == 0
    if empty:
        return (
            f"the range {time_range.describe()} selects no events; "
            f"{time_range.describe_data()} (try --last, or --since/--until inside that span)"
        )
    return None


def table_rows(con, table: str, time_range: TimeRange, column: str | None = None) -> int:
    """Rows of a log table in the range (with a value in `column`, when given)."""
    if table not in LOG_TABLES:
        raise ValueError(f"not a log table: {table}")
    since = time_range.start or _NOWHERE
    until = time_range.end or datetime.max.replace(tzinfo=UTC)
    counted = "count(*)" if column is None else "count(" + quote_ident(column) + ")"
    row = con.execute(
        "SELECT " + counted + " FROM " + quote_ident(table) + " WHERE ts >= $since AND ts < $until",
        {"since": since, "until": until},
    ).fetchone()
    return int(row[0]) if row else 0


class Analysis:
    """Detectors over one resolved range on one connection (see the module doc)."""

    def __init__(
        self,
        con,
        *,
        since: str | datetime | timedelta | None = None,
        until: str | datetime | timedelta | None = None,
        last: str | timedelta | None = None,
        window: str | timedelta = DEFAULT_WINDOW,
        time_range: TimeRange | None = None,
        narrowing: Narrowing | None = None,
    ) -> None:
        self.con = con
        self.narrowing = narrowing or Narrowing()
        self.time_range = time_range or resolve_range(con, since, until, last)
        self.window = window
        self._id = next(_session_ids)
        self._tables: dict[str, str] = {}
        self._built: dict[str, tuple] = {}
        self._counts: dict[tuple[str, str | None], int] = {}
        self._findings: dict[tuple, Finding] = {}
        self._notice: str | None | bool = False

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> Analysis:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Drop the shared temp tables this analysis built."""
        import duckdb

        for table in self._tables.values():
            # a closed connection has nothing left to drop
            with contextlib.suppress(duckdb.Error):
                self.con.execute("DROP TABLE IF EXISTS " + quote_ident(table))
        self._tables.clear()
        self._built.clear()

    # ------------------------------------------------------------ facts of the data
    @property
    def notice(self) -> str | None:
        if self._notice is False:
            self._notice = window_notice(self.time_range, self.con)
        return self._notice  # type: ignore[return-value]

    def rows(self, table: str, column: str | None = None) -> int:
        """Rows of `table` in the range (with a value in `column`, when given)."""
        key = (table, column)
        if key not in self._counts:
            self._counts[key] = table_rows(self.con, table, self.time_range, column)
        return self._counts[key]

    # ------------------------------------------------------------ detectors
    def finding(
        self, name: str | DetectorSpec, *, window: str | timedelta | None = None, **params: Any
    ) -> Finding:
        """One detector's `Finding` over the analysis range (cached per parameters)."""
        spec = name if isinstance(name, DetectorSpec) else get_detector(name)
        values = resolve_params(spec, params)
        asked = self.window if window is None else window
        width, origin, width_note = window_buckets(asked, self.time_range)
        key = (spec.name, width, origin, tuple(sorted((k, repr(v)) for k, v in values.items())))
        if key in self._findings:
            return self._findings[key]
        bound = self._bind(values, width, origin)
        frame = self.narrowing.apply(self._run(spec, bound))
        series = None
        if spec.series_params and spec.windowed:
            series_values = resolve_params(spec, {**params, **dict(spec.series_params)})
            if series_values != values:
                series = self.narrowing.apply(
                    self._run(spec, self._bind(series_values, width, origin))
                )
        inputs = {t: self.rows(t) for t in spec.tables}
        missing = tuple(
            (group[0] + " has no" if len(group) == 1 else " or ".join(group) + ": none has")
            + " rows in the range"
            for group in spec.needs
            if not any(inputs[t] for t in group)
        )
        unsupported = self.narrowing.unsupported(spec.subject)
        if unsupported:
            # numbers about everything would read as numbers about the filtered subject
            frame = frame.head(0)
            series = None if series is None else series.head(0)
            missing += tuple(
                f"cannot be narrowed by --{name} (its rows are not about a {name})"
                for name in unsupported
            )
        caveats = [] if width_note is None else [width_note]
        for caveat in spec.caveats:
            if self.rows(caveat.table) and caveat.column is None:
                continue
            if caveat.column is None or (
                self.rows(caveat.table) and not self.rows(caveat.table, caveat.column)
            ):
                caveats.append(caveat.text)
        finding = Finding(
            spec,
            frame,
            self.time_range,
            bound,
            width,
            self.notice,
            inputs,
            missing,
            tuple(caveats),
            series,
        )
        finding.traffic_after = self.traffic_after(finding)
        self._findings[key] = finding
        return finding

    def findings(
        self,
        names: list[str] | None = None,
        *,
        per_detector: dict[str, dict[str, Any]] | None = None,
        **params: Any,
    ) -> list[Finding]:
        """Every (or the named) detector's `Finding`, most severe first; `params` go to
        every detector, `per_detector[name]` to that one (`--param NAME.KEY=VALUE`)."""
        specs = list_detectors() if names is None else [get_detector(n) for n in names]
        own = per_detector or {}
        return sorted(
            (self.finding(spec, **{**params, **own.get(spec.name, {})}) for spec in specs),
            key=lambda f: (f.rank, f.name),
        )

    def traffic_after(self, finding: Finding) -> int:
        """Rows of the finding's input tables after it stopped, inside the range: the
        events stopped while traffic went on when this is above 0."""
        stopped = finding.stopped()
        if stopped is None or not finding.spec.tables:
            return 0
        after = TimeRange(stopped, self.time_range.end, None, None)
        return sum(table_rows(self.con, t, after) for t in finding.spec.tables)

    def examples(self, finding: Finding, limit: int = 3) -> list[tuple[datetime, str, str]]:
        """Raw log lines of what the finding found — (ts, table, line) from the tables
        and conditions its header declares (`example`), taken from its busiest window
        first — so a reader sees the evidence itself."""
        if not finding.spec.examples or not finding.found:
            return []
        peak = finding.peak_window()
        since = peak[0] if peak is not None else self.time_range.start
        until = since + finding.window if peak is not None else self.time_range.end
        out: list[tuple[datetime, str, str]] = []
        narrowed = self.narrowing.active
        if any(name not in EXAMPLE_FILTERS for name in narrowed):
            return []  # no log line names its table in a column (--table)
        patterns = {name: _like_pattern(name, value) for name, value in narrowed.items()}
        filters = "".join(
            " AND CAST(" + quote_ident(EXAMPLE_FILTERS[name]) + " AS VARCHAR) LIKE $" + name
            + " ESCAPE '\\'"
            for name in narrowed
        )  # fmt: skip
        for table, condition in finding.spec.examples:
            if len(out) >= limit or table not in LINE_TEXT:
                continue
            columns = table_columns(self.con, table)
            if any(EXAMPLE_FILTERS[name] not in columns for name in narrowed):
                continue  # lines this table cannot narrow would show other subjects
            rows = self.con.execute(
                "SELECT ts, "
                + LINE_TEXT[table]
                + " AS line FROM "
                + quote_ident(table)
                + " WHERE ts >= $since AND ts < $until AND ("
                + condition
                + ")"
                + filters
                + " ORDER BY ts, id LIMIT $n",
                {
                    "since": since or _NOWHERE,
                    "until": until or _NOWHERE,
                    "n": limit - len(out),
                    **patterns,
                },
            ).fetchall()
            out.extend((ts, table, " ".join(str(line).split())) for ts, line in rows if line)
        return out

    # ------------------------------------------------------------ internals
    def _bind(
        self, values: dict[str, object], width: timedelta, origin: datetime
    ) -> dict[str, object]:
        bound: dict[str, object] = dict(values)
        # An empty database has no range: bind an empty one so every $since/$until is typed.
        bound.update(
            since=self.time_range.start or _NOWHERE,
            until=self.time_range.end or _NOWHERE,
            window=width,
            origin=origin,
        )
        return bound

    def _run(self, spec: DetectorSpec, bound: dict[str, object]) -> pl.DataFrame:
        return execute(self.con, spec, bound, self._with_shared_results(spec.sql, bound))

    def _with_shared_results(self, sql: str, bound: dict[str, object]) -> str:
        """`sql` reading the shared results it calls from this analysis' temp tables; a
        call whose table cannot be built (e.g. no temp storage) stays a macro call."""
        import duckdb

        for shared in SHARED_RESULTS:
            if shared.call not in sql:
                continue
            args = tuple(repr(bound[name]) for name in shared.params)
            table = f"loganalyze_shared_{self._id}_{len(self._tables)}"
            try:
                if self._built.get(shared.call) != args:
                    prepare(self.con)
                    table = self._tables.get(shared.call, table)
                    self.con.execute(
                        "CREATE OR REPLACE TEMP TABLE "
                        + quote_ident(table)
                        + " AS SELECT * FROM "
                        + shared.call,
                        {name: bound[name] for name in shared.params},
                    )
                    self._tables[shared.call] = table
                    self._built[shared.call] = args
            except duckdb.Error:
                continue
            sql = sql.replace(shared.call, quote_ident(self._tables[shared.call]))
        return sql


# --------------------------------------------------------------------------- one call


def detect(
    con,
    name: str,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
    time_range: TimeRange | None = None,
    **params: object,
) -> Finding:
    """Run one detector → its `Finding` (range, bound params, inputs, caveats, notice)."""
    with Analysis(
        con, since=since, until=until, last=last, window=window, time_range=time_range
    ) as analysis:
        return analysis.finding(name, **params)


def run_detector(
    con,
    name: str,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
    **params: object,
) -> pl.DataFrame:
    """Run one detector → polars DataFrame (columns: `spec.columns`).

    When the range selects no events but the database has some elsewhere, an
    `EmptyRangeWarning` carries the data's real span (use `detect()` to get it as
    `Finding.notice` instead).
    """
    finding = detect(con, name, since=since, until=until, last=last, window=window, **params)
    if finding.notice and finding.time_range.has_data:
        warnings.warn(finding.notice, EmptyRangeWarning, stacklevel=2)
    return finding.frame


def detect_all(
    con,
    names: list[str] | None = None,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
) -> dict[str, Finding]:
    """Several detectors (all by default) over one resolved range → {name: Finding}."""
    with Analysis(con, since=since, until=until, last=last, window=window) as analysis:
        return {f.name: f for f in analysis.findings(names)}


def run_all(
    con,
    names: list[str] | None = None,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
) -> dict[str, pl.DataFrame]:
    """Every (or the named) detector over one range → {name: DataFrame}."""
    findings = detect_all(con, names, since=since, until=until, last=last, window=window)
    first = next(iter(findings.values()), None)
    if first is not None and first.notice and first.time_range.has_data:
        warnings.warn(first.notice, EmptyRangeWarning, stacklevel=2)
    return {name: f.frame for name, f in findings.items()}


__all__ = [
    "SHARED_RESULTS",
    "Analysis",
    "EmptyRangeWarning",
    "detect",
    "detect_all",
    "run_all",
    "run_detector",
    "table_rows",
    "window_buckets",
    "window_notice",
]
