"""Time slices of a pull and the ClickHouse SQL sent for them.

A slice is one source over `[start, end)`, never longer than the endpoint's 24-hour
limit. Rows are read ordered by `(timestamp, id)` and continued by keyset: each page asks
for the rows after the last `(timestamp, id)` it has, so a page cut short by the service
loses nothing and a page never repeats another.

The endpoint takes SQL text and no bound parameters, so the few values in these queries
are rendered as ClickHouse literals here, from validated inputs only: a source name from
the store's list, timestamps formatted from `datetime`, and ids escaped as string
literals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ..errors import UsageError

MAX_SLICE = timedelta(hours=24)
"""The endpoint refuses a range longer than this per request."""

COLUMNS = ("id", "timestamp", "event_message", "severity_text", "source", "log_attributes")
"""Every column of the ClickHouse `logs` table; log_attributes carries every attribute."""

_SOURCE_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True, order=True)
class Slice:
    source: str
    start: datetime
    end: datetime

    def describe(self) -> str:
        return f"{self.source} {iso(self.start)} .. {iso(self.end)}"


@dataclass(frozen=True)
class Key:
    """The `(timestamp, id)` of the last row read: the next page starts after it."""

    timestamp: datetime
    id: str


def iso(value: datetime) -> str:
    """UTC ISO-8601 with a Z, as the endpoint's iso_timestamp_* parameters take it."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plan_slices(
    sources: list[str],
    missing: dict[str, list[tuple[datetime, datetime]]],
    length: timedelta,
) -> list[Slice]:
    """Cut every missing interval of every source into slices of at most `length`
    (itself at most 24 h), oldest first so that a pull cut short has a prefix."""
    if length <= timedelta() or length > MAX_SLICE:
        raise UsageError(
            f"a slice must be longer than 0 and at most 24 h, not {length}",
            hint="e.g. --slice 1h (the endpoint refuses ranges over 24 h)",
        )
    out: list[Slice] = []
    for source in sources:
        for lo, hi in missing.get(source, []):
            cursor = lo
            while cursor < hi:
                step = min(hi, cursor + length)
                out.append(Slice(source, cursor, step))
                cursor = step
    return sorted(out, key=lambda s: (s.start, s.source))


def _ch_time(value: datetime) -> str:
    return "toDateTime64('" + value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + "', 6, 'UTC')"


def _ch_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _slice_filter(piece: Slice) -> str:
    if not _SOURCE_NAME.match(piece.source):
        raise UsageError(f"not a log source name: {piece.source!r}")
    return (
        "source = " + _ch_string(piece.source)
        + " AND timestamp >= " + _ch_time(piece.start)
        + " AND timestamp < " + _ch_time(piece.end)
    )


def rows_sql(piece: Slice, after: Key | None, limit: int) -> str:
    """One page of the slice's rows, in (timestamp, id) order, after `after`."""
    where = _slice_filter(piece)
    if after is not None:
        where += " AND (timestamp, id) > (" + _ch_time(after.timestamp) + ", " + _ch_string(after.id) + ")"
    return (
        "SELECT " + ", ".join(COLUMNS) + " FROM logs WHERE " + where
        + " ORDER BY timestamp, id LIMIT " + str(int(limit))
    )


def count_sql(piece: Slice) -> str:
    """The number of rows the service holds for the slice (to confirm a read)."""
    return "SELECT count() AS rows FROM logs WHERE " + _slice_filter(piece)


def parse_row_time(text: str) -> datetime:
    """A row's `timestamp` as the endpoint renders it (`2026-06-22T09:34:06.215000`,
    `2026-06-22 09:34:06.215000`, with or without a zone; naive = UTC)."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def subtract(
    wanted: tuple[datetime, datetime], covered: list[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime]]:
    """The parts of `wanted` that no interval of `covered` contains."""
    lo, hi = wanted
    gaps: list[tuple[datetime, datetime]] = []
    cursor = lo
    for c_lo, c_hi in sorted(covered):
        if c_hi <= cursor or c_lo >= hi:
            continue
        if c_lo > cursor:
            gaps.append((cursor, min(c_lo, hi)))
        cursor = max(cursor, c_hi)
        if cursor >= hi:
            break
    if cursor < hi:
        gaps.append((cursor, hi))
    return gaps
