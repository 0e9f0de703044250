"""Durations, instants and analysis ranges (--since/--until/--last)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loganalyze.errors import UsageError
from loganalyze.timeparse import (
    EPSILON,
    format_duration,
    parse_duration,
    parse_instant,
    resolve_range,
)

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("1m", timedelta(minutes=1)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("500ms", timedelta(milliseconds=500)),
        ("1h30m", timedelta(minutes=90)),
        ("1.5h", timedelta(minutes=90)),
        (" 10 seconds ", timedelta(seconds=10)),
        ("5 minutes", timedelta(minutes=5)),
        ("2H", timedelta(hours=2)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "10", "m", "10x", "-5m", "0s", "1m garbage", "1 fortnight"])
def test_parse_duration_rejects(text):
    with pytest.raises(UsageError) as info:
        parse_duration(text)
    assert info.value.hint


def test_format_duration_round_trips():
    for text in ("2s", "1m", "1h30m", "500ms", "1d", "10m5s"):
        assert format_duration(parse_duration(text)) == text


def test_parse_instant_iso_and_relative():
    assert parse_instant("2026-03-14T09:00:00Z") == datetime(2026, 3, 14, 9, tzinfo=UTC)
    # Naive timestamps are UTC; offsets are converted.
    assert parse_instant("2026-03-14 09:00:00") == datetime(2026, 3, 14, 9, tzinfo=UTC)
    assert parse_instant("2026-03-14T18:00:00+09:00") == datetime(2026, 3, 14, 9, tzinfo=UTC)
    assert parse_instant("2h", now=NOW) == datetime(2026, 3, 14, 10, tzinfo=UTC)
    with pytest.raises(UsageError, match="not a time"):
        parse_instant("yesterday-ish", now=NOW)


def _con_with_span(con, first: str, last: str):
    con.execute(
        "INSERT INTO edge_logs (id, ts) VALUES ('a', $first::TIMESTAMPTZ), ('b', $last::TIMESTAMPTZ)",
        {"first": first, "last": last},
    )
    return con


def test_resolve_range_defaults_to_data_span(con):
    _con_with_span(con, "2026-03-14 09:00:00+00", "2026-03-14 09:30:00+00")
    rng = resolve_range(con)
    assert rng.start == datetime(2026, 3, 14, 9, tzinfo=UTC)
    # Half-open range stretched by one microsecond so the newest event is inside.
    assert rng.end == datetime(2026, 3, 14, 9, 30, tzinfo=UTC) + EPSILON
    assert rng.overlaps_data()


def test_resolve_range_last_is_relative_to_newest_event(con):
    _con_with_span(con, "2026-03-14 09:00:00+00", "2026-03-14 09:30:00+00")
    rng = resolve_range(con, last="10m")
    assert rng.start == datetime(2026, 3, 14, 9, 20, tzinfo=UTC)
    assert rng.end - rng.start == timedelta(minutes=10) + EPSILON
    with pytest.raises(UsageError, match="--last cannot be combined"):
        resolve_range(con, since="1h", last="10m")


def test_resolve_range_since_until(con):
    _con_with_span(con, "2026-03-14 09:00:00+00", "2026-03-14 09:30:00+00")
    rng = resolve_range(con, since="3h", until="2h", now=NOW)
    assert (rng.start, rng.end) == (
        datetime(2026, 3, 14, 9, tzinfo=UTC),
        datetime(2026, 3, 14, 10, tzinfo=UTC),
    )
    far = resolve_range(con, since="2025-01-01", until="2025-01-02")
    assert not far.overlaps_data()
    assert "2026-03-14T09:00:00Z" in far.describe_data()
    with pytest.raises(UsageError, match="empty time range"):
        resolve_range(con, since="1h", until="2h", now=NOW)


def test_resolve_range_empty_database(con):
    rng = resolve_range(con)
    assert rng.start is None and rng.end is None and not rng.has_data
    assert resolve_range(con, last="1h").start is None


def test_since_past_the_newest_event_points_at_last(con):
    # An on-call habit (--since 2h) on logs replayed from an older day.
    _con_with_span(con, "2026-03-14 09:00:00+00", "2026-03-14 09:30:00+00")
    with pytest.raises(UsageError, match="data ends at 2026-03-14T09:30:00Z") as err:
        resolve_range(con, since="2h", now=datetime(2026, 3, 20, tzinfo=UTC))
    assert "--last" in (err.value.hint or "")
