"""The threshold language: what parses into what, and where malformed text is reported."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loganalyze.dod.expr import (
    Aggregate,
    BinaryOp,
    Comparison,
    Drop,
    ExpressionError,
    Negate,
    Number,
    aggregates,
    is_percentage,
    needs_baseline,
    parse_threshold,
)

COUNT = Aggregate("count")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("count == 0", Comparison(COUNT, "==", Number(0.0))),
        ("p95_ms < 800", Comparison(Aggregate("p95_ms"), "<", Number(800.0))),
        (
            "max_per_window(count) < 50",
            Comparison(Aggregate("count", "max_per_window"), "<", Number(50.0)),
        ),
        (
            "rate_per_participant_per_min <= 0.5",
            Comparison(Aggregate("rate_per_participant_per_min"), "<=", Number(0.5)),
        ),
        (
            "mean(calls_per_request) <= 2",
            Comparison(Aggregate("calls_per_request", "mean"), "<=", Number(2.0)),
        ),
        (
            "count <= 0.1 * baseline.count",
            Comparison(
                COUNT, "<=", BinaryOp("*", Number(0.1), Aggregate("count", None, baseline=True))
            ),
        ),
        ("drop(count) >= 90%", Comparison(Drop(COUNT), ">=", Number(0.9, percent=True))),
        ("count < 20 for 3 windows", Comparison(COUNT, "<", Number(20.0), 3)),
        ("count<20 for 1 window", Comparison(COUNT, "<", Number(20.0), 1)),
        (
            "baseline.p95(p95_ms) - p95(p95_ms) >= 1.5e2",
            Comparison(
                BinaryOp("-", Aggregate("p95_ms", "p95", True), Aggregate("p95_ms", "p95")),
                ">=",
                Number(150.0),
            ),
        ),
        (
            "-(count + 1) / 2 != -3",
            Comparison(
                BinaryOp("/", Negate(BinaryOp("+", COUNT, Number(1.0))), Number(2.0)),
                "!=",
                Negate(Number(3.0)),
            ),
        ),
    ],
)
def test_parses(text: str, expected: Comparison) -> None:
    assert parse_threshold(text) == expected


def test_precedence_multiplication_binds_tighter() -> None:
    parsed = parse_threshold("count < 1 + 2 * 3")
    assert parsed.right == BinaryOp("+", Number(1.0), BinaryOp("*", Number(2.0), Number(3.0)))


def test_subtraction_is_left_associative() -> None:
    parsed = parse_threshold("count < 10 - 4 - 3")
    assert parsed.right == BinaryOp("-", BinaryOp("-", Number(10.0), Number(4.0)), Number(3.0))


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("count", 6, "expected a comparison"),
        ("count == ", 10, "expected a number or a metric"),
        ("foo(count) < 1", 1, "unknown function 'foo'"),
        ("count < 2 for 0 windows", 15, "whole number of windows"),
        ("count < 2 for 3 minutes", 17, "expected 'windows'"),
        ("count $ 3", 7, "unexpected character '$'"),
        ("drop(baseline.count) > 1", 6, "already compares with the baseline"),
        ("count < 1 2", 11, "unexpected '2'"),
        ("mean(1) < 2", 6, "expected a metric inside mean()"),
        ("(count < 2", 8, "expected ')', found '<'"),
        ("baseline count < 2", 10, "expected '.' after baseline"),
        ("__import__('os') == 0", 12, "unexpected character"),
    ],
)
def test_malformed_is_reported_with_column(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse_threshold(text)
    assert fragment in info.value.message
    assert info.value.column == column


def test_empty_threshold() -> None:
    with pytest.raises(ExpressionError, match="empty"):
        parse_threshold("   ")


def test_absurd_nesting_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        parse_threshold("(" * 5000 + "count" + ")" * 5000 + " < 1")


def test_baseline_and_percentage_detection() -> None:
    assert needs_baseline(parse_threshold("drop(count) >= 90%"))
    assert needs_baseline(parse_threshold("count <= 0.1 * baseline.count"))
    assert not needs_baseline(parse_threshold("max_per_window(count) < 50"))
    relative = parse_threshold("drop(count) >= 90%")
    assert is_percentage(relative.left) and is_percentage(relative.right)
    assert not is_percentage(parse_threshold("count < 5").left)
    assert [a.text() for a in aggregates(parse_threshold("mean(x) < baseline.p95(y) + z"))] == [
        "mean(x)",
        "baseline.p95(y)",
        "z",
    ]


@given(st.text(max_size=40))
def test_arbitrary_text_parses_or_raises_expression_error(text: str) -> None:
    # Any other exception (IndexError, RecursionError, ...) fails the test.
    with contextlib.suppress(ExpressionError):
        parse_threshold(text)


metric_names = st.sampled_from(["count", "p95_ms", "calls_per_request"])
values = st.one_of(
    metric_names,
    st.builds(
        lambda f, m: f"{f}({m})", st.sampled_from(["mean", "max_per_window", "p99"]), metric_names
    ),
    st.builds(lambda m: f"baseline.{m}", metric_names),
    st.integers(0, 10**6).map(str),
)


@given(values, st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), values)
def test_generated_thresholds_parse_and_keep_their_operator(left: str, op: str, right: str) -> None:
    assert parse_threshold(f"{left} {op} {right}").op == op
