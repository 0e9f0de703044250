"""Judging a DoD against a database (and optionally a baseline run's database).

Each check runs its detector once per distinct (detector, window, params) over the
analysed range, keeps the rows its `where` selects, and evaluates its thresholds on that
frame with polars: aggregates are column reductions, never Python loops over rows.

What a metric means in a threshold is what its detector header declares (the metric's
kind, `loganalyze/findings.py`; documented in docs/check.md):
- a bare *count* metric is the sum over the matching rows (over the detector's `rollup`
  rows when the matching rows hold any, so a route's total is not added to its parts);
  no rows is 0;
- a bare metric of any other kind merges as its kind says: the worst window or subject
  (largest latency, rate or peak; smallest interval); no rows cannot be judged
  (inconclusive);
- `*_per_window(x)` first merges x per window the same way; for counts every window of
  the analysed range takes part, empty ones as 0.

A check whose detector needs a table that has no rows in the range is inconclusive,
whatever its thresholds say: an empty result over missing input is no evidence.
"""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from ..findings import Finding, format_value, rollup_rows, windows_in_range
from .expr import (
    PER_WINDOW,
    Aggregate,
    BinaryOp,
    Comparison,
    Drop,
    Negate,
    Node,
    Number,
    is_percentage,
    needs_baseline,
)
from .model import (
    Check,
    CheckReport,
    CheckResult,
    Dod,
    Filter,
    Severity,
    Threshold,
    ThresholdResult,
    Verdict,
)

COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}
ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}
QUANTILES = {"p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}


def compare(op: str, observed: float, limit: float) -> bool:
    """A comparison of two values where float noise never decides: values within a
    relative 1e-9 of each other are equal (90% of 1400 and a drop of 1260 from 1400)."""
    if math.isclose(observed, limit, rel_tol=1e-9, abs_tol=1e-12):
        return op in ("<=", ">=", "==")
    return bool(COMPARE[op](observed, limit))


class Undecidable(Exception):
    """A value the data cannot provide (no rows for a latency, a baseline of 0)."""


def is_count(matching: Matching, metric: str) -> bool:
    """Whether a metric counts things, so that it adds up across rows and windows: what
    its detector header declares (kind `count`)."""
    return matching.spec.metric(metric).adds_up


# --------------------------------------------------------------------------- one run


@dataclass
class Matching:
    """A check's detector rows on one run, after its `where`."""

    spec: Any
    frame: pl.DataFrame
    window: timedelta
    range_start: datetime | None
    range_end: datetime | None
    finding: Finding | None = None

    @property
    def events(self) -> float | None:
        if self.spec.events is None:
            return None
        return float(self.frame.get_column(self.spec.events).sum() or 0)

    @property
    def windows(self) -> int | None:
        return self.frame.get_column("window_start").n_unique() if self.spec.windowed else None

    def windows_in_range(self) -> int | None:
        """How many windows the analysed range spans (None when it is unbounded)."""
        return windows_in_range(self.range_start, self.range_end, self.window)


@dataclass
class Run:
    """One database (or one range of it) under judgement: an analysis over its range,
    whose findings the checks share."""

    analysis: Any
    label: str
    _rows: dict[str, int] = field(default_factory=dict)

    @classmethod
    def open(cls, con: Any, label: str, *, since=None, until=None, last=None) -> Run:
        """`con`: a DuckDB connection or an engine (`loganalyze.engines.open_engine`)."""
        from ..engines import analysis_over

        return cls(analysis_over(con, since=since, until=until, last=last), label)

    @property
    def con(self) -> Any:
        return self.analysis.con

    @property
    def time_range(self) -> Any:
        return self.analysis.time_range

    @property
    def notice(self) -> str | None:
        """Why this run's range holds nothing to judge, or None."""
        return self.analysis.notice

    def close(self) -> None:
        self.analysis.close()

    def matching(self, check: Check) -> Matching:
        finding = self.analysis.finding(check.detector, window=check.window, **check.params)
        frame = finding.frame
        if check.filters:
            frame = frame.filter(
                [_filter_expression(f, frame.schema[f.column]) for f in check.filters]
            )
        return Matching(
            finding.spec,
            frame,
            finding.window,
            self.time_range.start,
            self.time_range.end,
            finding,
        )

    def table_rows(self, table: str) -> int:
        """Rows of a log table in the analysed range (table names come from LOG_TABLES)."""
        if self.time_range.start is None or self.time_range.end is None:
            return 0
        return self.analysis.rows(table)


def _filter_expression(condition: Filter, dtype: pl.DataType) -> pl.Expr:
    column = pl.col(condition.column)
    values = list(condition.values)
    textual = dtype == pl.String or any(isinstance(v, str) for v in values)
    if textual and dtype != pl.String:
        column = column.cast(pl.String)
    if textual:
        values = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
    if condition.op == "eq":
        return column.eq(values[0]).fill_null(False)
    if condition.op == "in":
        return column.is_in(values).fill_null(False)
    if condition.op == "not_in":
        return (~column.is_in(values)).fill_null(True)
    text = column.cast(pl.String)
    if condition.op == "contains":
        return text.str.contains(str(values[0]), literal=True).fill_null(False)
    if condition.op == "starts_with":
        return text.str.starts_with(str(values[0])).fill_null(False)
    raise ValueError(f"unknown filter operator {condition.op}")


# --------------------------------------------------------------------------- aggregates


def _reduce(column: pl.Expr, function: str | None, merge: str) -> pl.Expr:
    if function is None:
        return getattr(column, merge)()
    if function in QUANTILES:
        return column.quantile(QUANTILES[function], interpolation="linear")
    return getattr(column, function)()


def aggregate(matching: Matching, ref: Aggregate) -> float:
    """One aggregate over a whole run's matching rows."""
    counts = is_count(matching, ref.metric)
    merge = matching.spec.metric(ref.metric).merge
    column = pl.col(ref.metric)
    if ref.function in PER_WINDOW:
        per_window = (
            matching.frame.group_by("window_start")
            .agg(_reduce(column, None, merge).alias("value"))
            .get_column("value")
            .drop_nulls()
        )
        windows = matching.windows_in_range() if counts else None
        if windows is not None and windows > per_window.len():
            # Windows without matching rows are windows with no events.
            per_window = per_window.extend_constant(0, windows - per_window.len())
        if per_window.is_empty():
            if counts:
                return 0.0
            raise Undecidable(f"no rows for {ref.metric}")
        reduced = {"max_per_window": per_window.max, "min_per_window": per_window.min}.get(
            ref.function, per_window.mean
        )()
        return float(reduced)  # type: ignore[arg-type]
    rows = rollup_rows(matching.spec, matching.frame) if ref.function is None else matching.frame
    value = rows.select(_reduce(column, ref.function, merge)).item()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        if counts and ref.function in (None, "sum"):
            return 0.0
        raise Undecidable(f"no rows for {ref.text()}")
    return float(value)


def aggregate_per_window(matching: Matching, ref: Aggregate) -> pl.Series:
    """One aggregate per window with matching rows, in window order."""
    merge = matching.spec.metric(ref.metric).merge
    return (
        matching.frame.group_by("window_start")
        .agg(_reduce(pl.col(ref.metric), ref.function, merge).cast(pl.Float64).alias("value"))
        .sort("window_start")
        .get_column("value")
    )


# --------------------------------------------------------------------------- thresholds


@dataclass
class _Evaluation:
    current: Matching
    baseline: Matching | None
    per_window: bool = False
    baseline_value: float | None = None

    def value(self, node: Node) -> Any:
        if isinstance(node, Number):
            return node.value
        if isinstance(node, Aggregate):
            if node.baseline:
                return self._baseline(node)
            if self.per_window:
                return aggregate_per_window(self.current, node)
            return aggregate(self.current, node)
        if isinstance(node, Drop):
            reference = self._baseline(node.operand)
            if reference == 0:
                raise Undecidable(f"baseline {node.operand.text()} is 0: drop() is undefined")
            return (reference - aggregate(self.current, node.operand)) / reference
        if isinstance(node, Negate):
            return -self.value(node.operand)
        if isinstance(node, BinaryOp):
            left, right = self.value(node.left), self.value(node.right)
            if node.op == "/" and isinstance(right, float | int) and right == 0:
                raise Undecidable("division by zero")
            return ARITHMETIC[node.op](left, right)
        raise TypeError(node)

    def _baseline(self, ref: Aggregate) -> float:
        assert self.baseline is not None
        value = aggregate(self.baseline, Aggregate(ref.metric, ref.function))
        if self.baseline_value is None:
            self.baseline_value = value
        return value


def evaluate_threshold(
    threshold: Threshold, current: Matching, baseline: Matching | None
) -> ThresholdResult:
    """Judge one threshold on a run's matching rows (and the baseline run's)."""
    comparison = threshold.comparison
    broken = Verdict.FAIL if threshold.severity is Severity.FAIL else Verdict.WARN
    unit = "%" if is_percentage(comparison.left) or is_percentage(comparison.right) else ""
    evaluation = _Evaluation(current, baseline, per_window=comparison.sustained_windows is not None)
    try:
        if comparison.sustained_windows is not None:
            return _sustained(threshold, evaluation, broken)
        observed = float(evaluation.value(comparison.left))
        limit = float(evaluation.value(comparison.right))
    except Undecidable as exc:
        return ThresholdResult(
            threshold, Verdict.INCONCLUSIVE, None, None, evaluation.baseline_value, unit, str(exc)
        )
    holds = compare(comparison.op, observed, limit)
    message = f"observed {format_value(observed, unit)}, threshold {threshold.text}"
    if not isinstance(comparison.right, Number):
        message += f" (limit {format_value(limit, unit)})"
    if evaluation.baseline_value is not None:
        message += f"; baseline {format_value(evaluation.baseline_value, '')}"
    return ThresholdResult(
        threshold,
        Verdict.PASS if holds else broken,
        observed,
        limit,
        evaluation.baseline_value,
        unit,
        message,
    )


def _sustained(threshold: Threshold, evaluation: _Evaluation, broken: Verdict) -> ThresholdResult:
    comparison: Comparison = threshold.comparison
    needed = comparison.sustained_windows
    assert needed is not None
    windows = evaluation.current.frame.get_column("window_start").unique().sort()
    left = _as_series(evaluation.value(comparison.left), windows.len())
    right = _as_series(evaluation.value(comparison.right), windows.len())
    holds = COMPARE[comparison.op](left, right).fill_null(True)
    breaches = pl.DataFrame({"window_start": windows, "left": left, "holds": holds}).filter(
        ~pl.col("holds")
    )
    longest = 0
    message = f"held in every window; fails at {needed} consecutive broken windows"
    if not breaches.is_empty():
        width_us = evaluation.current.window // timedelta(microseconds=1)
        runs = (
            breaches.with_columns(
                step=(pl.col("window_start") - pl.col("window_start").min()).dt.total_microseconds()
                // width_us
            )
            # Consecutive windows share step - position: one value per unbroken run.
            .with_columns(run=pl.col("step") - pl.int_range(pl.len()))
            .group_by("run")
            .agg(
                pl.len().alias("windows"),
                pl.col("window_start").min().alias("first"),
                (
                    pl.col("left").max() if comparison.op in ("<", "<=") else pl.col("left").min()
                ).alias("worst"),
            )
            .sort(["windows", "first"], descending=[True, False])
        )
        longest, first, worst = runs.row(0)[1:]
        message = (
            f"broken in {longest} consecutive window(s) starting {_iso(first)} "
            f"(worst {format_value(worst, '')}); fails at {needed}"
        )
    verdict = broken if longest >= needed else Verdict.PASS
    return ThresholdResult(
        threshold,
        verdict,
        float(longest),
        float(needed),
        evaluation.baseline_value,
        "windows",
        message,
    )


def _as_series(value: Any, length: int) -> pl.Series:
    if isinstance(value, pl.Series):
        return value
    return pl.Series([float(value)] * length, dtype=pl.Float64)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# --------------------------------------------------------------------------- checks


def _unsupported(finding: Finding) -> str | None:
    """Why the engine could not run the finding's detector, or None."""
    from ..engines import unsupported_in

    return unsupported_in(finding)


def _volume_problem(check: Check, run: Run, matching: Matching) -> str | None:
    """Why a run has too little data for this check (prefixed with the run's label)."""
    prefix = f"{run.label}: " if run.label != "run" else ""
    unsupported = _unsupported(matching.finding) if matching.finding is not None else None
    if unsupported:  # the engine cannot run the detector: nothing was measured
        return prefix + f"{check.detector} is {unsupported}"
    notice = run.notice
    if notice:
        return prefix + notice
    if matching.finding is not None and matching.finding.missing:
        return prefix + f"no input for {check.detector}: " + "; ".join(matching.finding.missing)
    for table, needed in check.requires.items():
        rows = run.table_rows(table)
        if rows < needed:
            return prefix + f"{table} has {rows:,} rows in range, the check needs {needed:,}"
    events = matching.events
    if check.min_events is not None and (events or 0) < check.min_events:
        return (
            prefix
            + f"{format_value(events or 0, '')} matching events, min_events is {check.min_events:,}"
        )
    windows = matching.windows
    if check.min_windows is not None and (windows or 0) < check.min_windows:
        return (
            prefix
            + f"matching rows in {windows or 0} window(s), min_windows is {check.min_windows}"
        )
    return None


def judge(check: Check, run: Run, baseline: Run | None = None) -> CheckResult:
    """Every threshold of one check, then the check's verdict:
    fail (a fail-severity threshold broken) > warn > inconclusive > pass > skipped."""
    started = time.perf_counter()
    current = run.matching(check)
    too_little = _volume_problem(check, run, current)
    measured = not (current.finding is not None and _unsupported(current.finding))
    base_matching = base_problem = None
    if baseline is not None and any(needs_baseline(t.comparison) for t in check.thresholds):
        base_matching = baseline.matching(check)
        base_problem = _volume_problem(check, baseline, base_matching)
    results = []
    for threshold in check.thresholds:
        relative = needs_baseline(threshold.comparison)
        if relative and baseline is None:
            results.append(
                ThresholdResult(
                    threshold,
                    Verdict.SKIPPED,
                    None,
                    None,
                    message="needs a baseline run (--baseline)",
                )
            )
            continue
        result = evaluate_threshold(threshold, current, base_matching if relative else None)
        problem = too_little or (base_problem if relative else None)
        if problem:
            result = ThresholdResult(
                threshold,
                Verdict.INCONCLUSIVE,
                result.observed if measured else None,  # an engine that cannot run it
                result.limit,
                result.baseline,
                result.unit,
                problem,
            )
        results.append(result)
    verdicts = {r.verdict for r in results}
    for verdict in (
        Verdict.FAIL,
        Verdict.WARN,
        Verdict.INCONCLUSIVE,
        Verdict.PASS,
        Verdict.SKIPPED,
    ):
        if verdict in verdicts:
            break
    message = ""
    if verdict is Verdict.INCONCLUSIVE:
        message = next(r.message for r in results if r.verdict is Verdict.INCONCLUSIVE)
    elif verdict is Verdict.SKIPPED:
        message = "needs a baseline run (--baseline)"
    return CheckResult(
        check,
        verdict,
        tuple(results),
        current.events,
        current.windows,
        message,
        time.perf_counter() - started,
    )


def check(
    con: Any,
    dod: Dod | str | Path,
    baseline: Any = None,
    *,
    since: Any = None,
    until: Any = None,
    last: Any = None,
    baseline_since: Any = None,
    baseline_until: Any = None,
) -> CheckReport:
    """Judge every check of a DoD against a database.

    `con` is a DuckDB connection or an engine (`loganalyze.engines.open_engine`: a
    check on a detector the engine cannot run is inconclusive, naming why); `dod` is a
    `Dod` or the path of a DoD file; `baseline` an optional connection (or engine) to the
    database of a baseline run (judged over its whole span, or its own `last`).
    `since`/`until`/`last` bound the analysed range as for every command;
    `baseline_since`/`baseline_until` take the baseline from a range instead — of the
    `baseline` database, or of `con` itself when no baseline database is given (before
    and after a fix, from one database).
    """
    if not isinstance(dod, Dod):
        from .load import load_dod

        dod = load_dod(dod)
    by_range = baseline_since is not None or baseline_until is not None
    run = Run.open(con, "run", since=since, until=until, last=last)
    base = None
    if baseline is not None or by_range:
        base = Run.open(
            con if baseline is None else baseline,
            "baseline",
            since=baseline_since,
            until=baseline_until,
            last=None if by_range else last,
        )
    try:
        results = tuple(judge(c, run, base) for c in dod.checks)
    finally:
        run.close()
        if base is not None:
            base.close()
    return CheckReport(
        dod,
        results,
        range_text=run.time_range.describe(),
        baseline_range_text=base.time_range.describe() if base is not None else None,
    )


__all__ = [
    "Matching",
    "Run",
    "Undecidable",
    "aggregate",
    "check",
    "evaluate_threshold",
    "format_value",
    "is_count",
    "judge",
]
