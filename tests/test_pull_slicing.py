"""Slices, literals and the retry arithmetic of `pull`, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loganalyze.errors import UsageError
from loganalyze.pull.retry import RetryPolicy, Throttle
from loganalyze.pull.slicing import (
    Key,
    Slice,
    count_sql,
    parse_row_time,
    plan_slices,
    rows_sql,
    subtract,
)

T0 = datetime(2026, 3, 12, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_subtract_leaves_the_gaps_between_covered_intervals() -> None:
    covered = [(at(10), at(20)), (at(15), at(30)), (at(40), at(50))]
    assert subtract((at(0), at(60)), covered) == [(at(0), at(10)), (at(30), at(40)), (at(50), at(60))]
    assert subtract((at(12), at(18)), covered) == []
    assert subtract((at(0), at(5)), []) == [(at(0), at(5))]


def test_slices_never_exceed_the_length_and_tile_the_gap_exactly() -> None:
    gap = (at(0), at(60 * 50 + 7))
    slices = plan_slices(["edge_logs"], {"edge_logs": [gap]}, timedelta(hours=24))
    assert all(s.end - s.start <= timedelta(hours=24) for s in slices)
    assert slices[0].start == gap[0] and slices[-1].end == gap[1]
    assert all(a.end == b.start for a, b in zip(slices, slices[1:], strict=False))
    assert len(slices) == 3


def test_a_slice_longer_than_the_endpoint_allows_is_refused() -> None:
    with pytest.raises(UsageError, match="24 h"):
        plan_slices(["edge_logs"], {}, timedelta(hours=25))


def test_ids_are_escaped_as_clickhouse_string_literals() -> None:
    piece = Slice("edge_logs", at(0), at(1))
    sql = rows_sql(piece, Key(at(0.5), "x') OR 1=1 --\\"), 100)
    assert "'x\\') OR 1=1 --\\\\'" in sql
    assert sql.endswith("ORDER BY timestamp, id LIMIT 100")
    with pytest.raises(UsageError):
        count_sql(Slice("edge_logs' OR 1=1", at(0), at(1)))


def test_row_times_in_either_rendering_are_utc() -> None:
    expected = datetime(2026, 6, 22, 9, 34, 6, 215000, tzinfo=UTC)
    assert parse_row_time("2026-06-22T09:34:06.215000") == expected
    assert parse_row_time("2026-06-22 09:34:06.215000") == expected
    assert parse_row_time("2026-06-22T11:34:06.215+02:00") == expected


def test_retry_after_is_waited_for_but_never_past_the_cap() -> None:
    policy = RetryPolicy(base=0.01, cap=2.0)
    assert all(1.5 <= policy.delay(1, retry_after=1.5) <= 1.51 for _ in range(50))
    assert policy.delay(1, retry_after=600) == 2.0
    assert all(0 <= policy.delay(10) <= 2.0 for _ in range(50))


def test_throttle_lowers_on_429_and_recovers_after_successes() -> None:
    throttle = Throttle(3)
    throttle.throttled()
    throttle.throttled()
    throttle.throttled()
    assert throttle.limit == 1 and throttle.lowest == 1
    for _ in range(Throttle.RECOVER_AFTER):
        throttle.succeeded()
    assert throttle.limit == 2
