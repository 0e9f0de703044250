"""What a reader sees first: the headline (the few findings that matter, each one plain
sentence with units) and the causal chains the data shows.

A detector takes part in the headline when its header declares `headline` (a template
naming its top subject, e.g. `{sqlstate} `{message}``) and, when it declares
`headline_when` (e.g. `p95_ms >= 1000`), when its totals meet that condition. Headlines
are ranked by what the data shows, not by detector order: events per row of the tables
the detector reads (errors per request), weighted by how many there were.

Chains are rules over findings, each stated with its evidence numbers:
- schema error → retries and writes after the error → duplicate-key storm on the same table;
- (slow statements →) slow /auth/v1/user → more calls per window (callers retry or poll
  while it is slow): the p95 at or above SLOW_AUTH_MS and the busiest window at least twice
  the first.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import polars as pl

from ..findings import Finding, format_value
from .zones import format_instant

HEADLINE_LIMIT = 5
SLOW_AUTH_MS = 1000.0
"""An /auth/v1/user p95 at or above this is slow (GoTrue answers in tens of ms)."""


@dataclass(frozen=True)
class Headline:
    finding: Finding
    sentence: str
    score: float


@dataclass(frozen=True)
class Chain:
    title: str
    steps: tuple[str, ...]


_FIELD = re.compile(r"\{([a-z_]+)\}")
_CONDITION = re.compile(r"^\s*([a-z_0-9]+)\s*(>=|<=|>|<|==)\s*([0-9.]+)\s*$")


def _holds(finding: Finding, condition: str | None) -> bool:
    if not condition:
        return True
    match = _CONDITION.match(condition)
    if match is None:
        return False
    value = finding.total(match.group(1))
    if value is None:
        return False
    limit = float(match.group(3))
    return {
        ">=": value >= limit,
        "<=": value <= limit,
        ">": value > limit,
        "<": value < limit,
        "==": value == limit,
    }[match.group(2)]


def _subject_text(finding: Finding, template: str, row: dict[str, Any]) -> str:
    def field(match: re.Match[str]) -> str:
        value = row.get(match.group(1))
        return "?" if value is None else str(value)

    return " ".join(_FIELD.sub(field, template).split())


def _window_text(width: timedelta) -> str:
    seconds = int(width.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            n = seconds // size
            return unit if n == 1 else f"{n} {unit}"
    return f"{seconds} s"


def _unit_of(finding: Finding, metric: str) -> str:
    declared = finding.metric(metric)
    return declared.unit or declared.text


def sentence(finding: Finding, zone: str) -> str | None:
    """One plain sentence: subject, total with its unit, the peak per window, when it
    started and stopped (and whether traffic went on)."""
    template = finding.spec.headline
    metric = finding.headline_metric
    if template is None or metric is None:
        return None
    top = finding.top_offenders(2)
    subjects = finding.frame.select(finding.subject_columns).unique().height
    row = top.row(0, named=True) if top.height else {}
    subject = _subject_text(finding, template, row)
    total = finding.total(metric) or 0
    unit = _unit_of(finding, metric)
    if subjects > 1 and metric in row:
        parts = [
            f"{subject}: {format_value(row[metric] or 0, '')} {unit}".rstrip()
            + f" (of {format_value(total, '')} in {subjects} groups)"
        ]
    else:
        parts = [f"{subject}: {format_value(total, '')} {unit}".rstrip()]
    latency = next((m for m in ("p95_ms", "max_ms") if m in finding.metric_columns), None)
    if latency is not None and finding.total(latency):
        parts.append(f"p95 up to {format_value(finding.total(latency), '')} ms")
    peak = finding.peak_window()
    if peak is not None and finding.per_window().height > 1:
        parts.append(f"up to {format_value(peak[1], '')}/{_window_text(finding.window)}")
    started, stopped = finding.started(), finding.stopped()
    if started is not None:
        end = finding.time_range.end if stopped is None else stopped
        span = (
            f"{format_instant(started, zone, short=True)}–{format_instant(end, zone, short=True)}"
        )
        if stopped is None:
            span += " (still going at the end of the range)"
        elif finding.traffic_after:
            span += (
                f", stopped {format_instant(stopped, zone, short=True)} while traffic "
                f"continued ({format_value(finding.traffic_after, '')} events after)"
            )
        parts.append(span)
    return ", ".join(parts)


def _score(finding: Finding) -> float:
    """Events per row of the tables the detector reads (errors per request, at most 1),
    weighted by the order of magnitude of the events."""
    events = float(finding.total_events or 0)
    traffic = float(sum(finding.inputs.values()) or 1)
    return min(1.0, events / traffic) * (1 + math.log10(1 + events))


def headlines(findings: list[Finding], zone: str, limit: int = HEADLINE_LIMIT) -> list[Headline]:
    """The findings that matter, most telling first (see the module doc)."""
    out = []
    for finding in findings:
        if not finding.found or finding.spec.headline is None:
            continue
        if not _holds(finding, finding.spec.headline_when):
            continue
        text = sentence(finding, zone)
        if text:
            out.append(Headline(finding, text, _score(finding)))
    out.sort(key=lambda h: (-h.score, h.finding.rank, h.finding.name))
    return out[:limit]


# --------------------------------------------------------------------------- chains


def _by_name(findings: list[Finding]) -> dict[str, Finding]:
    return {f.name: f for f in findings}


def _schema_to_conflicts(found: dict[str, Finding]) -> Chain | None:
    schema, amplification, storms = (
        found.get("schema_errors"),
        found.get("error_amplification"),
        found.get("conflict_storms"),
    )
    if not (schema and amplification and storms) or not (schema.found and storms.found):
        return None
    errors = schema.frame.group_by("relation", "sqlstate").agg(pl.col("count").sum())
    tables = set(errors["relation"].drop_nulls().to_list())
    writes = amplification.frame.filter(
        pl.col("kind").is_in(["4xx_then_writes", "4xx_retried"])
        & pl.col("table_name").is_in(list(tables))
    )
    conflicts = storms.frame.filter(pl.col("table_name").is_in(list(tables)))
    if writes.is_empty() or conflicts.is_empty():
        return None
    table = conflicts.group_by("table_name").agg(pl.col("count").sum()).sort("count").row(-1)[0]
    error_row = errors.filter(pl.col("relation") == table).sort("count").row(-1, named=True)
    followups = int(writes.filter(pl.col("table_name") == table)["followups"].sum())
    callers = int(writes.filter(pl.col("table_name") == table)["users"].max() or 0)
    conflict_total = int(conflicts.filter(pl.col("table_name") == table)["count"].sum())
    return Chain(
        "schema error → retries and writes → duplicate-key storm",
        (
            f"{format_value(error_row['count'], '')} × {error_row['sqlstate']} on {table}",
            f"{format_value(followups, '')} follow-up calls and retries on {table} by up to "
            f"{callers} callers right after the errors",
            f"{format_value(conflict_total, '')} duplicate-key conflicts (23505/409) on {table}",
        ),
    )


def _slow_auth_to_calls(found: dict[str, Finding]) -> Chain | None:
    auth = found.get("auth_user_latency")
    if auth is None or not auth.found:
        return None
    p95 = auth.total("p95_ms")
    series = auth.per_window()
    if p95 is None or p95 < SLOW_AUTH_MS or series.height < 3:
        return None
    first, busiest = float(series["value"][0]), float(series["value"].max())
    if busiest < 2 * first:
        return None
    steps = []
    rpc = found.get("rpc_latency")
    slow = rpc.total("p95_ms") if rpc is not None and rpc.found else None
    if slow:
        steps.append(f"database statements p95 up to {format_value(slow, '')} ms")
    steps.append(f"GET /auth/v1/user p95 up to {format_value(p95, '')} ms")
    steps.append(
        f"calls grew from {format_value(first, '')} to {format_value(busiest, '')} per "
        f"{_window_text(auth.window)}"
    )
    return Chain("slow /auth/v1/user → more calls", tuple(steps))


CHAIN_RULES = (_schema_to_conflicts, _slow_auth_to_calls)


def chains(findings: list[Finding]) -> list[Chain]:
    """Every causal chain the findings show (see the module doc)."""
    found = _by_name(findings)
    return [chain for rule in CHAIN_RULES if (chain := rule(found)) is not None]
