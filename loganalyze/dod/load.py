"""Reading a DoD file: TOML → `Dod`, validated against the detector specs before anything
runs. Every error names the file, the line and the check id (exit 2).

tomllib does not report where a value was written, so lines are found by scanning the text:
each `[[check]]` header starts a section, and within it the line of a key or of a
threshold's text is the first one that mentions it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DodError, LogAnalyzeError
from ..store import LOG_TABLES
from .expr import (
    PER_WINDOW,
    Comparison,
    Drop,
    ExpressionError,
    aggregates,
    parse_threshold,
    walk,
)
from .model import Check, Dod, Filter, Severity, Threshold

DOD_KEYS = ("title", "window", "requires")
CHECK_KEYS = (
    "id",
    "title",
    "detector",
    "where",
    "params",
    "window",
    "threshold",
    "thresholds",
    "warn",
    "severity",
    "min_events",
    "min_windows",
    "requires",
)
FILTER_OPERATORS = ("in", "not", "contains", "starts_with")
RESERVED_PARAMS = ("since", "until", "window")
DEFAULT_WINDOW = "1m"
_CHECK_HEADER = re.compile(r"^\s*\[\[\s*check\s*\]\]")
_TOML_LINE = re.compile(r"at line (\d+)")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")


@dataclass(frozen=True)
class _Section:
    """Where one check is written: its header line and the lines up to the next header."""

    lines: Sequence[str]
    start: int  # 1-based header line
    end: int  # 1-based last line of the section

    def line_of_key(self, key: str) -> int:
        pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
        return self._first(pattern.search) or self.start

    def line_of_text(self, text: str, fallback_key: str) -> int:
        return self._first(lambda line: text in line) or self.line_of_key(fallback_key)

    def _first(self, predicate) -> int | None:
        for number in range(self.start, min(self.end, len(self.lines)) + 1):
            if predicate(self.lines[number - 1]):
                return number
        return None


class _Context:
    """Builds DodErrors that point at the file, line and check."""

    def __init__(self, path: Path, section: _Section, label: str) -> None:
        self.path = path
        self.section = section
        self.label = label

    def error(self, message: str, line: int | None = None, hint: str | None = None) -> DodError:
        where = f"{self.path}:{line or self.section.start}"
        return DodError(f"{where}: {self.label}: {message}", hint=hint)

    def key_error(self, key: str, message: str, hint: str | None = None) -> DodError:
        return self.error(message, self.section.line_of_key(key), hint)


def load_dod(path: str | Path, specs: Sequence[Any] | None = None) -> Dod:
    """Read and validate a DoD file (see docs/check.md for the format).

    `specs` are the detector specs to validate against (default: every detector of
    `loganalyze.detectors.list_detectors()`).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DodError(f"DoD file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DodError(f"cannot read DoD file {path}: {exc}") from None
    return parse_dod(text, path=path, specs=specs)


def parse_dod(text: str, *, path: str | Path = "<dod>", specs: Sequence[Any] | None = None) -> Dod:
    """Parse and validate the text of a DoD file."""
    path = Path(path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = _TOML_LINE.search(str(exc))
        where = f"{path}:{line.group(1)}" if line else str(path)
        raise DodError(f"{where}: not valid TOML: {exc}") from None
    if specs is None:
        from ..detectors import list_detectors

        specs = list_detectors()
    by_name = {spec.name: spec for spec in specs}
    lines = text.splitlines()

    unknown = sorted(set(document) - {"dod", "check"})
    if unknown:
        raise DodError(
            f"{path}: unknown top-level key(s) {', '.join(unknown)}",
            hint="a DoD file has an optional [dod] table and [[check]] tables",
        )
    header = document.get("dod", {})
    if not isinstance(header, dict):
        raise DodError(f"{path}: `dod` must be a table ([dod])")
    header_section = _Section(lines, _first_line(lines, r"^\s*\[\s*dod\s*\]") or 1, len(lines))
    header_context = _Context(path, header_section, "[dod]")
    unknown = sorted(set(header) - set(DOD_KEYS))
    if unknown:
        raise header_context.key_error(
            unknown[0], f"unknown key {unknown[0]!r}", "known: " + ", ".join(DOD_KEYS)
        )
    default_window = _window(header.get("window", DEFAULT_WINDOW), header_context, "window")
    default_requires = _requires(header.get("requires", {}), header_context)

    raw_checks = document.get("check", [])
    if not isinstance(raw_checks, list) or not raw_checks:
        raise DodError(
            f"{path}: no checks",
            hint='add at least one [[check]] table with id, detector and thresholds = ["..."]',
        )
    headers = [n for n, line in enumerate(lines, start=1) if _CHECK_HEADER.match(line)]
    checks: list[Check] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_checks):
        start = (
            headers[index] if index < len(headers) else _first_line(lines, r"^\s*check\s*=") or 1
        )
        end = headers[index + 1] - 1 if index + 1 < len(headers) else len(lines)
        section = _Section(lines, start, end)
        check_id = raw.get("id") if isinstance(raw, dict) else None
        label = f"check {check_id!r}" if isinstance(check_id, str) else f"check #{index + 1}"
        context = _Context(path, section, label)
        if not isinstance(raw, dict):
            raise context.error("a check must be a table")
        check = _check(raw, context, by_name, default_window, default_requires)
        if check.id in seen:
            raise context.key_error("id", f"duplicate id (first used on line {seen[check.id]})")
        seen[check.id] = section.start
        checks.append(check)
    title = header.get("title", "")
    if not isinstance(title, str):
        raise header_context.key_error("title", "title must be a string")
    return Dod(checks=tuple(checks), title=title, path=path)


def _first_line(lines: Sequence[str], pattern: str) -> int | None:
    compiled = re.compile(pattern)
    for number, line in enumerate(lines, start=1):
        if compiled.match(line):
            return number
    return None


def _check(
    raw: dict[str, Any],
    context: _Context,
    by_name: dict[str, Any],
    default_window: str,
    default_requires: dict[str, int],
) -> Check:
    for key in raw:
        if key not in CHECK_KEYS:
            raise context.key_error(key, f"unknown key {key!r}", "known: " + ", ".join(CHECK_KEYS))
    check_id = raw.get("id")
    if not isinstance(check_id, str) or not _ID.match(check_id):
        raise context.key_error(
            "id", "every check needs an id: letters, digits, '.', '_', ':' or '-' (P0-1.errors)"
        )
    detector = raw.get("detector")
    if not isinstance(detector, str):
        raise context.key_error("detector", 'every check names a detector = "..."')
    spec = by_name.get(detector)
    if spec is None:
        raise context.key_error(
            "detector",
            f"unknown detector {detector!r}",
            "known detectors: " + ", ".join(sorted(by_name)),
        )
    title = raw.get("title", "")
    if not isinstance(title, str):
        raise context.key_error("title", "title must be a string")
    severity_text = raw.get("severity", "fail")
    if severity_text not in ("fail", "warn"):
        raise context.key_error(
            "severity", f'severity must be "fail" or "warn", not {severity_text!r}'
        )
    severity = Severity(severity_text)
    thresholds = _thresholds(raw, context, spec, severity)
    window = _window(raw.get("window", default_window), context, "window")
    requires = {**default_requires, **_requires(raw.get("requires", {}), context)}
    min_events = _count(raw, "min_events", context)
    if min_events is not None and spec.events is None:
        raise context.key_error("min_events", f"detector {spec.name} has no events column")
    min_windows = _count(raw, "min_windows", context)
    if min_windows is not None and not spec.windowed:
        raise context.key_error("min_windows", f"detector {spec.name} is not windowed")
    return Check(
        id=check_id,
        detector=detector,
        thresholds=thresholds,
        title=title,
        filters=_filters(raw.get("where", {}), context, spec),
        params=_params(raw.get("params", {}), context, spec),
        window=window,
        min_events=min_events,
        min_windows=min_windows,
        requires=requires,
        severity=severity,
        line=context.section.start,
    )


def _thresholds(
    raw: dict[str, Any], context: _Context, spec: Any, severity: Severity
) -> tuple[Threshold, ...]:
    if "threshold" in raw and "thresholds" in raw:
        raise context.key_error("threshold", "write either threshold or thresholds, not both")
    entries: list[tuple[str, Any, Severity]] = []
    for key, key_severity in (
        ("threshold", severity),
        ("thresholds", severity),
        ("warn", Severity.WARN),
    ):
        value = raw.get(key)
        if value is None:
            continue
        texts = [value] if key == "threshold" else value
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise context.key_error(
                key, f"{key} must be {'a string' if key == 'threshold' else 'a list of strings'}"
            )
        entries.extend((key, text, key_severity) for text in texts)
    if not entries:
        raise context.error('no thresholds: add thresholds = ["count == 0"] (or threshold = "...")')
    thresholds = []
    for key, text, key_severity in entries:
        line = context.section.line_of_text(text, key)
        try:
            comparison = parse_threshold(text)
        except ExpressionError as exc:
            raise context.error(f"threshold {text!r}: {exc}", line) from None
        problem = _threshold_problem(comparison, spec)
        if problem:
            raise context.error(f"threshold {text!r}: {problem[0]}", line, problem[1])
        thresholds.append(Threshold(text, comparison, key_severity, line))
    return tuple(thresholds)


def metric_names(spec: Any) -> tuple[str, ...]:
    """The metrics a threshold may name for a detector (its metrics and events column)."""
    names = tuple(spec.metrics)
    return names if spec.events is None or spec.events in names else (*names, spec.events)


def _threshold_problem(comparison: Comparison, spec: Any) -> tuple[str, str | None] | None:
    """What is wrong with a parsed threshold for this detector, with a hint; None if fine."""
    known = metric_names(spec)
    refs = aggregates(comparison)
    for ref in refs:
        if ref.metric not in known:
            return (
                f"detector {spec.name} has no metric {ref.metric!r}",
                "its metrics: " + ", ".join(known),
            )
        if ref.function in PER_WINDOW and not spec.windowed:
            return (f"{ref.function}() needs a windowed detector; {spec.name} is not", None)
    if all(ref.baseline for ref in refs):
        return (
            "compares no metric of this run",
            "e.g. count == 0 or count <= 0.5 * baseline.count",
        )
    if comparison.sustained_windows is not None:
        if not spec.windowed:
            return (f"'for N windows' needs a windowed detector; {spec.name} is not", None)
        if _has_drop(comparison):
            return (
                "drop() compares whole runs and cannot be sustained over windows",
                "write count <= 0.1 * baseline.mean_per_window(count) for 3 windows",
            )
        for ref in refs:
            if ref.function in PER_WINDOW and not ref.baseline:
                return (
                    f"{ref.function}() is already per window; in 'for N windows' write the bare metric",
                    None,
                )
    return None


def _has_drop(comparison: Comparison) -> bool:
    return any(
        isinstance(n, Drop) for side in (comparison.left, comparison.right) for n in walk(side)
    )


def _filters(raw: Any, context: _Context, spec: Any) -> tuple[Filter, ...]:
    if not isinstance(raw, dict):
        raise context.key_error("where", 'where must be a table: where = { path = "/rest/v1/x" }')
    filters = []
    for column, condition in raw.items():
        if column not in spec.subject:
            raise context.key_error(
                "where",
                f"detector {spec.name} has no subject column {column!r}",
                "filterable columns: " + (", ".join(spec.subject) or "none"),
            )
        if isinstance(condition, dict):
            for op, value in condition.items():
                filters.append(_operator_filter(column, op, value, context))
        elif isinstance(condition, list):
            filters.append(Filter(column, "in", _scalars(condition, column, context)))
        else:
            filters.append(Filter(column, "eq", _scalars([condition], column, context)))
    return tuple(filters)


def _operator_filter(column: str, op: str, value: Any, context: _Context) -> Filter:
    if op == "in":
        if not isinstance(value, list):
            raise context.key_error("where", f"{column}.in needs a list")
        return Filter(column, "in", _scalars(value, column, context))
    if op == "not":
        values = value if isinstance(value, list) else [value]
        return Filter(column, "not_in", _scalars(values, column, context))
    if op in ("contains", "starts_with"):
        if not isinstance(value, str):
            raise context.key_error("where", f"{column}.{op} needs a string")
        return Filter(column, op, (value,))
    raise context.key_error(
        "where", f"unknown condition {op!r} on {column}", "known: " + ", ".join(FILTER_OPERATORS)
    )


def _scalars(values: list[Any], column: str, context: _Context) -> tuple[object, ...]:
    if not values or not all(isinstance(v, str | int | float | bool) for v in values):
        raise context.key_error(
            "where", f"{column}: expected a string, number or boolean (or a list of them)"
        )
    return tuple(values)


def _params(raw: Any, context: _Context, spec: Any) -> dict[str, object]:
    if not isinstance(raw, dict):
        raise context.key_error("params", 'params must be a table: params = { gap = "30s" }')
    for name in RESERVED_PARAMS:
        if name in raw:
            hint = "use the check's window key" if name == "window" else "use --since/--until"
            raise context.key_error("params", f"{name} is not a detector parameter here", hint)
    from ..detectors import resolve_params

    try:
        resolve_params(spec, raw)
    except LogAnalyzeError as exc:
        raise context.key_error("params", exc.message, exc.hint) from None
    return dict(raw)


def _window(value: Any, context: _Context, key: str) -> str:
    from ..timeparse import parse_duration

    if not isinstance(value, str):
        raise context.key_error(key, f'{key} must be a duration string such as "1m"')
    try:
        parse_duration(value)
    except LogAnalyzeError as exc:
        raise context.key_error(key, exc.message, exc.hint) from None
    return value


def _requires(raw: Any, context: _Context) -> dict[str, int]:
    if not isinstance(raw, dict):
        raise context.key_error(
            "requires", "requires must be a table: requires = { edge_logs = 1000 }"
        )
    for table, rows in raw.items():
        if table not in LOG_TABLES:
            raise context.key_error(
                "requires", f"unknown log table {table!r}", "log tables: " + ", ".join(LOG_TABLES)
            )
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
            raise context.key_error("requires", f"requires.{table} must be a whole number of rows")
    return dict(raw)


def _count(raw: dict[str, Any], key: str, context: _Context) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise context.key_error(key, f"{key} must be a whole number")
    return value


__all__ = ["CHECK_KEYS", "DOD_KEYS", "load_dod", "metric_names", "parse_dod"]
