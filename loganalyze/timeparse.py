"""Time arguments: durations (`90s`, `1m`, `2h`, `1d`, `1h30m`), `--since/--until`
(a duration before now or an ISO timestamp) and `--last` (a duration ending at the newest
event in the data, for replayed logs).

Every datetime this module returns is timezone-aware UTC. A range is half-open,
`start <= ts < end`; a range that ends at the data's newest event is stretched by one
microsecond so that event is inside it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .errors import UsageError

_UNITS: dict[str, timedelta] = {
    "us": timedelta(microseconds=1),
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(us|ms|s|m|h|d|w)")
_WHOLE = re.compile(r"\s*(?:\d+(?:\.\d+)?\s*(?:us|ms|s|m|h|d|w)\s*)+")
_LONG_UNITS = {
    "sec": "s", "secs": "s", "second": "s", "seconds": "s",
    "min": "m", "mins": "m", "minute": "m", "minutes": "m",
    "hour": "h", "hours": "h", "hr": "h", "hrs": "h",
    "day": "d", "days": "d", "week": "w", "weeks": "w",
}  # fmt: skip
_LONG = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]+)\s*$")

# One microsecond: the end of a range that must include the newest event.
EPSILON = timedelta(microseconds=1)


def parse_duration(text: str | timedelta) -> timedelta:
    """`90s`, `1m`, `2h`, `1d`, `1h30m`, `500ms`, `10 seconds` → timedelta (positive)."""
    if isinstance(text, timedelta):
        value = text
    else:
        raw = str(text).strip().lower()
        long = _LONG.match(raw)
        if long and long.group(2) in _LONG_UNITS:
            raw = long.group(1) + _LONG_UNITS[long.group(2)]
        if not raw or not _WHOLE.fullmatch(raw):
            raise UsageError(
                f"not a duration: {text!r}",
                hint="use a number and a unit: 500ms, 90s, 1m, 2h, 1d, 1w (or 1h30m)",
            )
        value = timedelta()
        for number, unit in _PART.findall(raw):
            value += float(number) * _UNITS[unit]
    if value <= timedelta():
        raise UsageError(f"a duration must be positive: {text!r}", hint="e.g. 1m or 2h")
    return value


_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?$")


def parse_instant(
    text: str | datetime | timedelta, *, now: datetime | None = None, zone: str | None = None
) -> datetime:
    """A point in time: a duration before `now`, an ISO timestamp, or a time of day
    (`10:05`, today in `zone`). A timestamp without an offset is wall-clock time in
    `zone` (the zone a person reads the report in), UTC when no zone is given; an
    explicit offset (`Z`, `+09:00`) always wins."""
    if isinstance(text, datetime):
        return _in_zone(text, zone)
    reference = _as_utc(now) if now is not None else datetime.now(UTC)
    if isinstance(text, timedelta):
        return reference - parse_duration(text)
    raw = str(text).strip()
    if _TIME_OF_DAY.match(raw):
        today = reference.astimezone(_zone_info(zone)).date().isoformat()
        raw = f"{today}T{raw.zfill(len(raw) + (raw.index(':') == 1))}"
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        pass
    else:
        return _in_zone(parsed, zone)
    try:
        return reference - parse_duration(raw)
    except UsageError:
        raise UsageError(
            f"not a time: {text!r}",
            hint="use a duration before now (30m, 2h, 1d), a time of day today (10:05) or an "
            "ISO timestamp (2026-03-14T09:00; without an offset it is read in "
            + (f"{zone}, the --tz zone)" if zone else "UTC)"),
        ) from None


def _zone_info(zone: str | None):  # type: ignore[no-untyped-def]
    from zoneinfo import ZoneInfo

    return ZoneInfo(zone) if zone else UTC


def _in_zone(value: datetime, zone: str | None) -> datetime:
    """A naive datetime is wall-clock time in `zone` (UTC without one)."""
    if value.tzinfo is None and zone:
        value = value.replace(tzinfo=_zone_info(zone))
    return _as_utc(value)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


@dataclass(frozen=True)
class TimeRange:
    """The analysed range `[start, end)` and the span of the data actually present.

    `data_start`/`data_end` are the oldest/newest event over every log table (None for an
    empty database). `start`/`end` are None only when the database is empty and no bound
    was given.
    """

    start: datetime | None
    end: datetime | None
    data_start: datetime | None
    data_end: datetime | None

    @property
    def has_data(self) -> bool:
        return self.data_start is not None

    def overlaps_data(self) -> bool:
        """True when some of the data's span falls inside the range."""
        if self.data_start is None or self.data_end is None:
            return False
        start = self.start if self.start is not None else self.data_start
        end = self.end if self.end is not None else self.data_end + EPSILON
        return start <= self.data_end and end > self.data_start

    def describe_data(self) -> str:
        if self.data_start is None or self.data_end is None:
            return "the database holds no events"
        return f"the data spans {_iso(self.data_start)} .. {_iso(self.data_end)}"

    def describe(self) -> str:
        start = _iso(self.start) if self.start else "-inf"
        end = _iso(self.end) if self.end else "+inf"
        return f"{start} .. {end}"


def _iso(value: datetime) -> str:
    return _as_utc(value).isoformat().replace("+00:00", "Z")


def data_span(con) -> tuple[datetime | None, datetime | None]:
    """Oldest and newest event over every log table, as aware UTC datetimes."""
    from .store import data_span as store_span

    lo, hi = store_span(con)
    return (_as_utc(lo) if lo is not None else None, _as_utc(hi) if hi is not None else None)


def resolve_range(
    con,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    *,
    now: datetime | None = None,
    zone: str | None = None,
) -> TimeRange:
    """Turn `--since/--until/--last` into a concrete `[start, end)` range.

    - no bounds: the whole data span;
    - `since`/`until`: a duration before `now`, an ISO timestamp or a time of day (read
      in `zone`, see `parse_instant`); a missing side is the data's edge;
    - `last`: the duration ending at the newest event (replayed logs have old
      timestamps); it cannot be combined with `since`/`until`.
    """
    data_start, data_end = data_span(con)
    if last is not None:
        if since is not None or until is not None:
            raise UsageError(
                "--last cannot be combined with --since/--until",
                hint="--last 2h means the two hours ending at the newest event",
            )
        span = parse_duration(last)
        if data_end is None:
            return TimeRange(None, None, None, None)
        return TimeRange(data_end - span, data_end + EPSILON, data_start, data_end)
    start = parse_instant(since, now=now, zone=zone) if since is not None else data_start
    if until is not None:
        end = parse_instant(until, now=now, zone=zone)
    else:
        end = data_end + EPSILON if data_end is not None else None
    if start is not None and end is not None and start >= end:
        if until is None and data_end is not None:
            # --since 2h on replayed logs: the newest event is older than two hours ago
            raise UsageError(
                f"no events since {_iso(start)}: the data ends at {_iso(data_end)}",
                hint="for replayed or older logs use --last 2h (the two hours ending at the "
                "newest event), or an ISO --since",
            )
        raise UsageError(
            f"empty time range: {_iso(start)} is not before {_iso(end)}",
            hint="--since must be earlier than --until",
        )
    return TimeRange(start, end, data_start, data_end)


def format_duration(value: timedelta) -> str:
    """The shortest `parse_duration` spelling of a duration: 2s, 1m, 1h30m, 500ms."""
    micros = round(value.total_seconds() * 1_000_000)
    if micros <= 0:
        return "0s"
    parts = []
    for unit, size in (
        ("d", 86_400_000_000),
        ("h", 3_600_000_000),
        ("m", 60_000_000),
        ("s", 1_000_000),
        ("ms", 1_000),
        ("us", 1),
    ):
        count, micros = divmod(micros, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


MAX_WINDOWS = 10_000
"""Most windows any per-window computation builds over one range (a week of 1m windows
is about this many); beyond it the window is widened so no single stray timestamp can
make a report allocate by the span of time it covers."""

# Widths a widened window snaps to: the ones people read easily.
_NICE_WIDTHS: tuple[timedelta, ...] = tuple(
    parse_duration(text)
    for text in (
        "1s", "2s", "5s", "10s", "15s", "30s", "1m", "2m", "5m", "10m", "15m", "30m",
        "1h", "2h", "3h", "6h", "12h", "1d",
    )
)  # fmt: skip
_DAY = timedelta(days=1)


@dataclass(frozen=True)
class BoundedWindow:
    width: timedelta
    """The window to use: the one asked for, or a wider one."""
    note: str | None
    """Why the window was widened (None when it was not)."""


def bounded_window(
    time_range: TimeRange | tuple[datetime | None, datetime | None] | None,
    window: str | timedelta,
    *,
    max_windows: int = MAX_WINDOWS,
) -> BoundedWindow:
    """The window to bucket `time_range` by so it holds at most `max_windows` windows.

    The asked-for width is kept when it fits; otherwise the next width people read easily
    (2m, 5m, 1h, 1d, …; whole days beyond a day, which is what time_bucket accepts) that
    fits, with a note saying so. An open or empty range keeps the width."""
    width = parse_duration(window)
    if max_windows < 1:
        raise ValueError("max_windows must be at least 1")
    if isinstance(time_range, TimeRange):
        start, end = time_range.start, time_range.end
    elif time_range is None:
        start = end = None
    else:
        start, end = time_range
    if start is None or end is None or end <= start:
        return BoundedWindow(width, None)
    span = end - start
    if span / width <= max_windows:
        return BoundedWindow(width, None)
    needed = span / max_windows
    wider = next((w for w in _NICE_WIDTHS if w >= needed and w > width), None)
    if wider is None:
        wider = timedelta(days=math.ceil(needed / _DAY))
    windows = math.ceil(span / width)
    note = (
        f"window widened from {format_duration(width)} to {format_duration(wider)}: the range "
        f"{_iso(start)} .. {_iso(end)} would hold {windows:,} windows (at most "
        f"{max_windows:,}); narrow it with --since/--until/--last"
    )
    return BoundedWindow(wider, note)
