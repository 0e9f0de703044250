"""The threshold language of DoD checks: a tokenizer and a recursive-descent parser.

A threshold is text, never Python: it is parsed into the small tree below and evaluated
by `loganalyze.dod.evaluate`. Grammar (k6-style, one comparison per threshold):

    threshold := sum CMP sum [ "for" INTEGER ("window" | "windows") ]
    sum       := product (("+" | "-") product)*
    product   := unary (("*" | "/") unary)*
    unary     := "-" unary | primary
    primary   := NUMBER ["%"] | "(" sum ")" | "drop" "(" value ")" | ["baseline" "."] value
    value     := METRIC | AGGREGATE "(" METRIC ")"
    CMP       := "<" | "<=" | ">" | ">=" | "==" | "!="

Examples: `count == 0`, `p95_ms < 800`, `max_per_window(count) < 50`,
`count <= 0.1 * baseline.count`, `drop(count) >= 90%`, `count < 20 for 3 windows`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

AGGREGATES: dict[str, str] = {
    "sum": "sum over the matching rows",
    "mean": "mean over the matching rows",
    "min": "smallest value over the matching rows",
    "max": "largest value over the matching rows",
    "p50": "median over the matching rows",
    "p90": "90th percentile over the matching rows",
    "p95": "95th percentile over the matching rows",
    "p99": "99th percentile over the matching rows",
    "max_per_window": "per-window total (sum for counts, max otherwise), largest window",
    "min_per_window": "per-window total (sum for counts, max otherwise), smallest window",
    "mean_per_window": "per-window total (sum for counts, max otherwise), mean over windows",
}
"""Aggregation functions over a detector's matching rows, with what each computes."""

PER_WINDOW = frozenset(name for name in AGGREGATES if name.endswith("_per_window"))
COMPARATORS = ("<=", ">=", "==", "!=", "<", ">")
RELATIVE_FUNCTIONS = ("drop",)


class ExpressionError(ValueError):
    """A threshold that does not parse; `column` is 1-based within the expression."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.column = column

    def __str__(self) -> str:
        return self.message if self.column is None else f"{self.message} (column {self.column})"


# --------------------------------------------------------------------------- tree


@dataclass(frozen=True)
class Number:
    value: float
    percent: bool = False
    """Written with `%` (value already divided by 100): shown back as a percentage."""


@dataclass(frozen=True)
class Aggregate:
    """A metric of the detector's matching rows reduced to one value (or one per window)."""

    metric: str
    function: str | None = None
    """None for a bare metric (a sum for counts, the largest row otherwise)."""
    baseline: bool = False
    """Read from the baseline run (`baseline.count`)."""

    def text(self) -> str:
        inner = self.metric if self.function is None else f"{self.function}({self.metric})"
        return f"baseline.{inner}" if self.baseline else inner


@dataclass(frozen=True)
class Drop:
    """`drop(x)`: (baseline x - x) / baseline x, the fraction by which x fell."""

    operand: Aggregate


@dataclass(frozen=True)
class Negate:
    operand: Node


@dataclass(frozen=True)
class BinaryOp:
    op: str
    left: Node
    right: Node


Node = Number | Aggregate | Drop | Negate | BinaryOp


@dataclass(frozen=True)
class Comparison:
    """A parsed threshold: `left op right`, optionally sustained over N windows."""

    left: Node
    op: str
    right: Node
    sustained_windows: int | None = None
    """`for N windows`: broken only when N consecutive windows break the comparison."""


def walk(node: Node) -> Iterator[Node]:
    """Every node of a tree, parents first."""
    yield node
    if isinstance(node, Drop | Negate):
        yield from walk(node.operand)
    elif isinstance(node, BinaryOp):
        yield from walk(node.left)
        yield from walk(node.right)


def aggregates(comparison: Comparison) -> list[Aggregate]:
    """The metric references of a threshold, left to right."""
    return [
        n
        for side in (comparison.left, comparison.right)
        for n in walk(side)
        if isinstance(n, Aggregate)
    ]


def needs_baseline(comparison: Comparison) -> bool:
    return any(
        isinstance(n, Drop) or (isinstance(n, Aggregate) and n.baseline)
        for side in (comparison.left, comparison.right)
        for n in walk(side)
    )


def is_percentage(node: Node) -> bool:
    """Whether a side reads as a fraction to show as a percentage (drop(), `90%`)."""
    return any(isinstance(n, Drop) or (isinstance(n, Number) and n.percent) for n in walk(node))


# --------------------------------------------------------------------------- tokens

_TOKEN = re.compile(
    r"\s*(?:(?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|\.|%))"
)


@dataclass(frozen=True)
class Token:
    kind: str  # "number" | "name" | "op" | "end"
    text: str
    column: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            column = position + 1 + (len(text[position:]) - len(text[position:].lstrip()))
            raise ExpressionError(f"unexpected character {text[column - 1]!r}", column)
        kind = match.lastgroup or "op"
        tokens.append(Token(kind, match.group(kind), match.start(kind) + 1))
        position = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


# --------------------------------------------------------------------------- parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.current
        self.index += 1
        return token

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        token = self.current
        if token.kind == kind and (text is None or token.text == text):
            return self.advance()
        return None

    def expect(self, kind: str, text: str, what: str) -> Token:
        token = self.accept(kind, text)
        if token is None:
            raise ExpressionError(
                f"expected {what}, found {_describe(self.current)}", self.current.column
            )
        return token

    def threshold(self) -> Comparison:
        left = self.sum()
        token = self.current
        if token.kind != "op" or token.text not in COMPARATORS:
            raise ExpressionError(
                f"expected a comparison ({', '.join(COMPARATORS)}), found {_describe(token)}",
                token.column,
            )
        self.advance()
        right = self.sum()
        sustained = None
        if self.accept("name", "for"):
            count = self.current
            if count.kind != "number" or not count.text.isdigit() or int(count.text) < 1:
                raise ExpressionError(
                    f"expected a whole number of windows after 'for', found {_describe(count)}",
                    count.column,
                )
            self.advance()
            unit = self.current
            if unit.kind != "name" or unit.text not in ("window", "windows"):
                raise ExpressionError(f"expected 'windows', found {_describe(unit)}", unit.column)
            self.advance()
            sustained = int(count.text)
        if self.current.kind != "end":
            raise ExpressionError(f"unexpected {_describe(self.current)}", self.current.column)
        return Comparison(left, token.text, right, sustained)

    def sum(self) -> Node:
        node = self.product()
        while self.current.kind == "op" and self.current.text in ("+", "-"):
            op = self.advance().text
            node = BinaryOp(op, node, self.product())
        return node

    def product(self) -> Node:
        node = self.unary()
        while self.current.kind == "op" and self.current.text in ("*", "/"):
            op = self.advance().text
            node = BinaryOp(op, node, self.unary())
        return node

    def unary(self) -> Node:
        if self.accept("op", "-"):
            return Negate(self.unary())
        return self.primary()

    def primary(self) -> Node:
        token = self.current
        if token.kind == "number":
            self.advance()
            value = float(token.text)
            if self.accept("op", "%"):
                return Number(value / 100.0, percent=True)
            return Number(value)
        if self.accept("op", "("):
            node = self.sum()
            self.expect("op", ")", "')'")
            return node
        if token.kind == "name" and token.text in RELATIVE_FUNCTIONS:
            self.advance()
            self.expect("op", "(", f"'(' after {token.text}")
            if self.current.kind == "name" and self.current.text == "baseline":
                raise ExpressionError(
                    f"{token.text}() already compares with the baseline: write {token.text}(x)",
                    self.current.column,
                )
            operand = self.value(baseline=False)
            self.expect("op", ")", "')'")
            return Drop(operand)
        if token.kind == "name" and token.text == "baseline":
            self.advance()
            self.expect("op", ".", "'.' after baseline (baseline.count)")
            return self.value(baseline=True)
        if token.kind == "name":
            return self.value(baseline=False)
        raise ExpressionError(
            f"expected a number or a metric, found {_describe(token)}", token.column
        )

    def value(self, *, baseline: bool) -> Aggregate:
        token = self.current
        if token.kind != "name" or token.text in ("baseline", "for", *RELATIVE_FUNCTIONS):
            raise ExpressionError(f"expected a metric, found {_describe(token)}", token.column)
        self.advance()
        if not self.accept("op", "("):
            return Aggregate(token.text, None, baseline)
        if token.text not in AGGREGATES:
            raise ExpressionError(
                f"unknown function {token.text!r}; known: "
                + ", ".join([*AGGREGATES, *RELATIVE_FUNCTIONS]),
                token.column,
            )
        metric = self.current
        if metric.kind != "name" or metric.text in ("baseline", "for"):
            raise ExpressionError(
                f"expected a metric inside {token.text}(), found {_describe(metric)}",
                metric.column,
            )
        self.advance()
        self.expect("op", ")", "')'")
        return Aggregate(metric.text, token.text, baseline)


def _describe(token: Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


def parse_threshold(text: str) -> Comparison:
    """Parse one threshold; raises ExpressionError (with a column) when it is malformed."""
    if not text.strip():
        raise ExpressionError("empty threshold")
    try:
        return _Parser(text).threshold()
    except RecursionError:
        raise ExpressionError("threshold nested too deeply") from None


__all__ = [
    "AGGREGATES",
    "COMPARATORS",
    "PER_WINDOW",
    "Aggregate",
    "BinaryOp",
    "Comparison",
    "Drop",
    "ExpressionError",
    "Negate",
    "Node",
    "Number",
    "aggregates",
    "is_percentage",
    "needs_baseline",
    "parse_threshold",
    "tokenize",
    "walk",
]
