"""The report as data: what every renderer (rich, markdown, JSON, HTML, chart files)
shows, computed once from the database.

`build_report` runs one analysis over the range and gathers the header facts, the
findings (`loganalyze.findings.Finding`: totals, series, offenders, started/stopped,
caveats — their meaning is decided there, not here), the incident timeline and, when the
caller judged a DoD over the same range, its verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from ..findings import Finding, Narrowing
from ..store import LOG_TABLES, quote_ident
from ..timeparse import format_duration
from .query import query_frame
from .story import Chain, Headline, chains, headlines
from .timeline import build_timeline, empty_timeline
from .zones import resolve_zone


@dataclass(frozen=True)
class KeyNumber:
    label: str
    value: float | int | str
    unit: str = ""


def key_numbers(finding: Finding, metric_limit: int | None = None) -> list[KeyNumber]:
    """The figures a report quotes about a finding (`Finding.figures`), plus the row
    count where rows are what there is to count."""
    numbers = [KeyNumber(f.label, f.value, f.unit) for f in finding.figures(metric_limit)]
    if not finding.windowed or not finding.frame.height:
        numbers.append(KeyNumber("result rows", finding.frame.height))
    return numbers


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
    results: list[Finding]
    timeline: pl.DataFrame = field(default_factory=empty_timeline)
    dod: Any = None
    """The `CheckReport` of the DoD judged over the report's range (`report --dod`)."""
    notice: str | None = None
    """Why the range shows nothing (no data, or a range outside the data's span)."""
    title: str = "loganalyze report"
    """The heading of every rendering (`report --title`)."""
    narrowed: str = ""
    """The report filters every finding was narrowed by (`--path 409`…), or ''."""
    headlines: list[Headline] = field(default_factory=list)
    """The findings that matter, most telling first, each one sentence (report.story)."""
    chains: list[Chain] = field(default_factory=list)
    """Causal chains the findings show, with their evidence."""
    examples: dict[str, list[tuple[datetime, str, str]]] = field(default_factory=dict)
    """Detector name → a few raw log lines (ts, table, line) of what it found."""
    overview: dict[str, Any] = field(default_factory=dict)
    """The counters a page opens with: events, HTTP requests and errors, database errors."""

    @property
    def found(self) -> list[Finding]:
        """Detectors that found something, most severe first."""
        return [f for f in self.results if f.found]

    @property
    def quiet(self) -> list[Finding]:
        """Detectors that looked at their inputs and found nothing."""
        return [f for f in self.results if not f.found and f.conclusive]

    @property
    def unjudged(self) -> list[Finding]:
        """Detectors that found nothing because an input they need has no rows: their
        silence is no evidence."""
        return [f for f in self.results if not f.found and not f.conclusive]

    @property
    def rejected_rows(self) -> int:
        return int(self.rejected["rows"].sum()) if self.rejected.height else 0

    @property
    def total_rows(self) -> int:
        return int(self.sources["rows"].sum()) if self.sources.height else 0


def _frame(con, sql: str, params: list | dict | None = None) -> pl.DataFrame:
    """A small query's rows from a DuckDB connection, or from an engine (`frame`)."""
    import duckdb

    if isinstance(con, duckdb.DuckDBPyConnection):
        return query_frame(con, sql, params)
    return con.frame(sql, params)


def sources_frame(con) -> pl.DataFrame:
    """Rows per log table that holds any (`con`: a DuckDB connection or an engine)."""
    parts = " UNION ALL ".join(
        f"SELECT {i} AS k, $t{i} AS source, count(*) AS rows FROM " + quote_ident(t)
        for i, t in enumerate(LOG_TABLES)
    )  # k: LOG_TABLES' order (ClickHouse runs the parts of a UNION ALL in parallel)
    frame = _frame(
        con,
        "SELECT source, rows FROM (" + parts + ") WHERE rows > 0 ORDER BY k",
        {f"t{i}": t for i, t in enumerate(LOG_TABLES)},
    )
    return frame.with_columns(pl.col("rows").cast(pl.Int64))


def files_frame(con) -> pl.DataFrame:
    return _frame(
        con,
        "SELECT file, format, source, rows, duplicates, rejected FROM ingested_files "
        "ORDER BY file_id",
    )


def rejected_frame(con) -> pl.DataFrame:
    """Rejected rows by reason, most frequent first."""
    return _frame(
        con,
        "SELECT reason, count(*) AS rows FROM rejected_rows GROUP BY reason "
        "ORDER BY rows DESC, reason",
    ).with_columns(pl.col("rows").cast(pl.Int64))


def order_results(results: list[Finding]) -> list[Finding]:
    return sorted(results, key=lambda r: (r.rank, r.name))


DEFAULT_TITLE = "loganalyze report"


def build_report(
    con,
    *,
    since: str | datetime | None = None,
    until: str | datetime | None = None,
    last: str | None = None,
    window: str | timedelta = "1m",
    tz: str | None = None,
    dod: Any = None,
    detectors: list[str] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    title: str | None = None,
    narrowing: Narrowing | None = None,
) -> Report:
    """Run the detectors over the range and gather everything a report shows.

    `con` is a DuckDB connection, an engine (`loganalyze.engines.open_engine`: the
    detectors run there; one the engine cannot run is listed as not judged, naming the
    engine and why) or an `Analysis` (its own range and narrowing are used). `since`/`until`/`last`/`window` mean what they mean for `loganalyze run`; `tz` is the
    display zone (None = the local zone); `dod` the `CheckReport` of a DoD judged over the
    same range (`loganalyze.check`), whose verdicts the report shows; `params` detector
    parameters by detector name (`{"conflict_storms": {"min_count": 20}}`); `title` the
    heading every rendering shows; `narrowing` filters every finding to one path, status,
    table or user (detectors whose rows are not about that are listed as not judged).
    """
    from contextlib import ExitStack

    from ..engines import analysis_over

    zone = resolve_zone(tz)
    with ExitStack() as owned:
        analysis = analysis_over(
            con, since=since, until=until, last=last, window=window, narrowing=narrowing
        )
        if analysis is not con:  # an Analysis the caller passed stays the caller's to close
            owned.enter_context(analysis)
        con = analysis.con
        time_range = analysis.time_range
        results = order_results(analysis.findings(detectors, per_detector=params))
        step = results[0].window if results else _step(window, time_range)
        window_text = _window_text(window, step)
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
            notice=analysis.notice,
            timeline=build_timeline(analysis, step),
            title=title or DEFAULT_TITLE,
            narrowed=analysis.narrowing.describe(),
            headlines=headlines(results, zone),
            chains=chains(results),
            examples={f.name: analysis.examples(f) for f in results if f.found},
            overview=overview(analysis, results),
        )
    report.dod = dod
    return report


def overview(analysis: Any, results: list[Finding]) -> dict[str, Any]:
    """Events in the range, HTTP requests and error responses (gateway and app routes),
    the error rate, and database errors (db_errors: each event once across sources)."""
    from ..store import LOG_TABLES

    time_range = analysis.time_range
    if time_range.start is None:
        return {"events": 0, "http_requests": 0, "http_errors": 0, "error_rate": None,
                "db_errors": 0, "sources": 0}  # fmt: skip
    events = {t: analysis.rows(t) for t in LOG_TABLES}
    row = analysis.con.execute(
        "SELECT count(*) FILTER (WHERE status IS NOT NULL), count(*) FILTER (WHERE status >= 400) "
        "FROM (SELECT status FROM edge_logs WHERE ts >= $since AND ts < $until "
        "UNION ALL SELECT status FROM vercel_logs WHERE ts >= $since AND ts < $until "
        "AND coalesce(type, '') NOT IN ('stdout', 'stderr'))",
        {"since": time_range.start, "until": time_range.end},
    ).fetchone()
    requests, errors = (int(row[0]), int(row[1])) if row else (0, 0)
    db = next((f for f in results if f.name == "db_errors"), None)
    return {
        "events": sum(events.values()),
        "http_requests": requests,
        "http_errors": errors,
        "error_rate": errors / requests if requests else None,
        "db_errors": int(db.total("count") or 0) if db is not None else None,
        "sources": sum(1 for n in events.values() if n),
    }


def _window_text(window: str | timedelta, step: timedelta) -> str:
    """What the user asked for ("1m", "all"), unless the window was widened to bound the
    number of windows: then the width used."""
    from ..detectors import WHOLE_RANGE

    if isinstance(window, str) and window.strip().lower() == WHOLE_RANGE:
        return WHOLE_RANGE
    if isinstance(window, str) and _step(window, None) == step:
        return window
    return format_duration(step)


def _step(window: str | timedelta, time_range: Any) -> timedelta:
    from ..analysis import window_buckets
    from ..timeparse import TimeRange

    return window_buckets(window, time_range or TimeRange(None, None, None, None))[0]
