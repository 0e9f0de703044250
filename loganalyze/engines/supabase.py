"""Push-down to Supabase's own log store: `--engine supabase --project REF`.

The detectors that aggregate the Supabase sources run as ClickHouse SQL on Supabase's side,
through the Management API logs endpoint (the `pull` client: same retries, backoff,
throttling and HTTP-200 errors), and only their aggregated rows travel back — never the
log rows. docs/scale-out.md ("Push-down to Supabase") states what runs, the slice and
merge rule and the cost.

- The normalized tables (edge_logs, postgres_logs, auth_logs, …) are views of the store's
  one `logs` table (`supabase_queries/_tables.sql`, the rules of `loganalyze ingest` for a
  ClickHouse-era row), so a detector reads the same columns as everywhere else: its
  push-down SQL is the ClickHouse engine's body (`clickhouse/queries/NAME.sql`, shared
  parts included), not a copy. That body marks, in comments ClickHouse ignores, where the
  views go (`--@slice_views`), where only the slice's own events are kept
  (`--@slice_filter WHERE|AND`) and which lines hold only for the merged whole
  (`--@after_merge`); `pushdown_sql` expands them. Every `det_*` / `sb_*` function is
  expanded into the text (the store runs no CREATE FUNCTION).
- The endpoint answers at most 24 h per request, so the range is cut into slices whose
  edges fall on window edges; each request reads its slice plus a margin on either side
  (so an error still meets its partner in another log, a grant its neighbours) and counts
  only the slice's own events. Windows then never straddle slices and the slices' rows are
  disjoint: concatenated, they are the whole range's rows. When a window is wider than a
  slice (`--window all` over more than a day), rows of the same window are merged: counts
  add, `sources` unite; percentiles and distinct users cannot be, and such a detector is
  refused rather than approximated.
- Storms need earlier windows (baseline) and runs across windows: the slices return per
  window counts, and the storms are found locally from the merged counts.
- The endpoint takes SQL text without bound parameters: values are rendered as ClickHouse
  literals from validated, typed inputs only (as `pull.slicing` does).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from ..detectors import DetectorSpec, get_detector, list_detectors
from ..errors import DetectorError, UsageError
from ..pull.client import LogsClient, PullError, TimeBudgetSpent, check_project_ref, read_token
from ..pull.retry import Deadline, RetryPolicy, Throttle
from ..pull.slicing import MAX_SLICE
from ..store import LOG_TABLES
from .clickhouse import _body_texts as _clickhouse_texts
from .clickhouse import _Cursor, macro_statements

HERE = Path(__file__).parent / "supabase_queries"
NAME = "supabase"

PUSHED = (
    "db_errors",
    "schema_errors",
    "conflict_storms",
    "status_storms",
    "auth_user_latency",
    "refresh_token_races",
    "rpc_latency",
)
"""Detectors that run on Supabase's side: their ClickHouse body carries the push-down
markers (`pushdown_sql`)."""

UNSUPPORTED_REASON = (
    "not pushed down to Supabase's log store (it needs rows the store does not hold, or "
    "per-row work that does not merge across 24 h slices); pull the range and run it "
    "locally: `loganalyze run NAME --project REF`"
)

MARGIN = timedelta(minutes=15)
"""Context read on either side of a slice: a request, an error's partner in another log
or a grant's neighbour further away than this from the slice edge is matched only within
the slice (the margin grows with match_tolerance and reuse_interval)."""

REQUEST_SPAN = MAX_SLICE - timedelta(minutes=2)
"""The range one request covers at most: the endpoint's 24 h, less the rounding of
iso_timestamp_* to whole minutes (the range is widened to whole minutes when sent)."""

_COUNTS = {
    "db_errors": ("count", "postgres_count", "postgrest_count", "edge_count"),
    "schema_errors": ("count", "postgres_count", "postgrest_count", "edge_count"),
    "refresh_token_races": ("count", "races", "grants", "failed_grants"),
}
"""Columns that add when one window's rows come from two slices."""

_ORDER = {
    "db_errors": (("window_start", False), ("count", True), ("sqlstate", False)),
    "schema_errors": (
        ("window_start", False), ("count", True), ("sqlstate", False), ("relation", False),
        ("column_name", False), ("message", False),
    ),
    "refresh_token_races": (("window_start", False), ("count", True), ("user_id", False)),
}
"""The detector's ORDER BY, to restore after merging."""

_STORMS = {
    "status_storms": ("source", "status_class", "path"),
    "conflict_storms": ("table_name", None, None),
}
"""Storm detectors: the names of k1, k2, k3 in the output (None: not an output column)."""


# ---------------------------------------------------------------------------- SQL text
@cache
def _own_texts() -> dict[str, str]:
    return {p.stem: p.read_text(encoding="utf-8") for p in HERE.glob("*.sql")}


_INCLUDE = re.compile(r"^--@include (\w+)\s*$", re.MULTILINE)
_FUNCTION = re.compile(
    r"^CREATE OR REPLACE FUNCTION (\w+) AS \(([^)]*)\)\s*->\s*(.*)$", re.DOTALL
)
_PLACEHOLDER = re.compile(r"\{(\w+):([^{}]+)\}")
_STRING = re.compile(r"'(?:[^'\\]|\\.|'')*'")
_TOKEN = re.compile(r"'(?:[^'\\]|\\.|'')*'|--[^\n]*")


def supported(name: str) -> bool:
    return name in PUSHED


def body(name: str) -> str:
    """The push-down SQL of detector `name`, shared parts included, functions expanded,
    placeholders left for `render`."""
    return _expanded(name)


_SLICE_VIEWS = re.compile(r"^--@slice_views\s*$", re.MULTILINE)
_SLICE_FILTER = re.compile(r"^--@slice_filter (WHERE|AND)\s*$", re.MULTILINE)
_AFTER_MERGE = re.compile(r"^.*--@after_merge[ \t]*\n", re.MULTILINE)
_LOCAL_PARTS = {"_storms": "_storms_pushed"}
"""Shared parts that run locally on the merged slices: the push-down body stops where one
is included and returns, in its place, the rows it reads (per window, key and label)."""
_CORE = "ts >= {core_since:DateTime64(6, 'UTC')} AND ts < {core_until:DateTime64(6, 'UTC')}"
"""Only the slice's own events are counted: the request reads a margin around the slice
(an error still meets its partner in another log, a grant its neighbours), and the
slices' rows stay disjoint."""


def pushdown_sql(name: str) -> str:
    """The ClickHouse body of `name` as it runs on one slice, markers expanded:

    - `--@slice_views` (right after WITH and its scalars) → the views of `_tables.sql`;
    - `--@slice_filter WHERE` / `--@slice_filter AND` → the condition `_CORE`;
    - a line ending in `--@after_merge` is left out: it holds for the whole range only
      (refresh_token_races keeps a group with a failed grant; a window spanning two slices
      is summed first, then `run` keeps it);
    - `--@include` of a part of `_LOCAL_PARTS` ends the body there (see `_LOCAL_PARTS`).
    A pushed body without the views or the filter is refused: it would count the margins."""
    texts = _clickhouse_texts()
    if name not in PUSHED or name not in texts:
        raise DetectorError(f"detector {name} is not supported on engine {NAME}: {UNSUPPORTED_REASON}")
    shared = {**texts, **_own_texts()}
    text = texts[name]
    for part, pushed_part in _LOCAL_PARTS.items():
        local = re.search(rf"^--@include {part}\s*$", text, re.MULTILINE)
        if local is not None:
            text = f"{text[:local.start()]}--@include {pushed_part}\n"

    def include(match: re.Match[str]) -> str:
        part = shared.get(match.group(1))
        if part is None:
            raise DetectorError(f"push-down body {name}: no shared part {match.group(1)}.sql")
        return _INCLUDE.sub(include, part)

    text = _INCLUDE.sub(include, text)
    if len(_SLICE_VIEWS.findall(text)) != 1 or len(_SLICE_FILTER.findall(text)) != 1:
        raise DetectorError(
            f"push-down body {name}: its ClickHouse body needs one `--@slice_views` and "
            "one `--@slice_filter WHERE|AND` line"
        )
    text = _SLICE_VIEWS.sub(lambda _: _own_texts()["_tables"].rstrip() + "\n,", text)
    text = _SLICE_FILTER.sub(lambda m: f"{m.group(1)} {_CORE}", text)
    return _AFTER_MERGE.sub("", text)


@cache
def _expanded(name: str) -> str:
    return expand_functions(minify(pushdown_sql(name)))


@cache
def functions() -> dict[str, tuple[tuple[str, ...], str]]:
    """name → (parameters, body) of every SQL function the bodies may call."""
    statements = list(macro_statements())
    text = (HERE / "macros.sql").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    statements += [s.strip() for s in "\n".join(lines).split("\n;") if s.strip()]
    out: dict[str, tuple[tuple[str, ...], str]] = {}
    for statement in statements:
        match = _FUNCTION.match(statement.strip().rstrip(";").strip())
        if match is None:
            continue  # not a function: nothing a body can call
        params = tuple(p.strip() for p in match.group(2).split(",") if p.strip())
        out[match.group(1)] = (params, minify(match.group(3)))
    return out


def _split_literals(sql: str) -> list[tuple[bool, str]]:
    """(is a string literal, text) pieces of `sql`; a `--` comment is code text (so a
    quote inside a comment opens no literal)."""
    pieces: list[tuple[bool, str]] = []
    at = 0
    for match in _TOKEN.finditer(sql):
        if not match.group(0).startswith("'"):
            continue
        if match.start() > at:
            pieces.append((False, sql[at:match.start()]))
        pieces.append((True, match.group(0)))
        at = match.end()
    if at < len(sql):
        pieces.append((False, sql[at:]))
    return pieces


def minify(sql: str) -> str:
    """Comments dropped and blanks collapsed outside string literals: the SQL travels in
    a URL."""
    out: list[str] = []
    for literal, text in _split_literals(_TOKEN.sub(lambda m: m.group(0) if m.group(0).startswith("'") else " ", sql)):
        out.append(text if literal else re.sub(r"\s+", " ", text))
    return "".join(out).strip()


def _call_args(sql: str, open_at: int) -> tuple[list[str], int]:
    """The top-level arguments of the call whose `(` is at `open_at`, and the index after
    its `)`. String literals are skipped whole."""
    depth = 0
    args: list[str] = []
    start = open_at + 1
    i = open_at
    while i < len(sql):
        ch = sql[i]
        if ch == "'":
            match = _STRING.match(sql, i)
            i = match.end() if match else i + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                args.append(sql[start:i].strip())
                return [a for a in args if a], i + 1
        elif ch == "," and depth == 1:
            args.append(sql[start:i].strip())
            start = i + 1
        i += 1
    raise DetectorError("unbalanced parentheses in a push-down body")


def _substitute(template: str, values: dict[str, str]) -> str:
    out: list[str] = []
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, values)) + r")\b") if values else None
    for literal, text in _split_literals(template):
        if literal or pattern is None:
            out.append(text)
        else:
            out.append(pattern.sub(lambda m: values[m.group(1)], text))
    return "".join(out)


def expand_functions(sql: str) -> str:
    """Every call of a known SQL function replaced by its body, arguments parenthesized,
    until none is left (bodies call one another)."""
    known = functions()
    call = re.compile(r"\b(" + "|".join(sorted(known, key=len, reverse=True)) + r")\s*\(")
    for _ in range(10_000):
        found = None
        for literal, start, text in _positions(sql):
            if literal:
                continue
            found = call.search(text)
            if found:
                offset = start
                break
        if not found:
            return sql
        name = found.group(1)
        open_at = offset + found.end() - 1
        args, end = _call_args(sql, open_at)
        params, template = known[name]
        if len(args) != len(params):
            raise DetectorError(f"{name} takes {len(params)} arguments, a body passes {len(args)}")
        replaced = "(" + _substitute(template, {p: "(" + a + ")" for p, a in zip(params, args, strict=True)}) + ")"
        sql = sql[: offset + found.start()] + replaced + sql[end:]
    raise DetectorError("SQL functions nest too deeply to expand")


def _positions(sql: str) -> list[tuple[bool, int, str]]:
    out: list[tuple[bool, int, str]] = []
    at = 0
    for literal, text in _split_literals(sql):
        out.append((literal, at, text))
        at += len(text)
    return out


def literal(value: object, type_name: str) -> str:
    """A typed value as a ClickHouse literal (the endpoint binds no parameters)."""
    kind = type_name.replace(" ", "")
    if kind.startswith("DateTime64"):
        if not isinstance(value, datetime):
            raise UsageError(f"expected a time, not {value!r}")
        instant = value.astimezone(UTC) if value.tzinfo else value
        return "toDateTime64('" + instant.strftime("%Y-%m-%d %H:%M:%S.%f") + "', 6, 'UTC')"
    if kind == "Bool":
        return "true" if bool(value) else "false"
    if kind == "Int64":
        if isinstance(value, timedelta):
            value = value // timedelta(microseconds=1)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"expected a whole number, not {value!r}")
        return "toInt64(" + str(int(value)) + ")"
    if kind == "Float64":
        number = float(value)  # type: ignore[arg-type]
        return "toFloat64('" + repr(number) + "')"
    if kind == "String":
        text = str(value)
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"
    raise UsageError(f"cannot send a {type_name} value to the Supabase log store")


def render(sql: str, values: dict[str, object]) -> str:
    """`{name:Type}` placeholders replaced by literals of `values`."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise DetectorError(f"push-down body: no value for {{{name}}}")
        return literal(values[name], match.group(2))

    # A placeholder's type holds a literal ('UTC'); no literal of the bodies holds `{name:`.
    text = _PLACEHOLDER.sub(one, sql)
    # The store reads the body as one query; outer joins must give NULL for a missing
    # partner, as in DuckDB (the ClickHouse engines' DETECTOR_SETTINGS).
    return text + " SETTINGS join_use_nulls = 1"


# ---------------------------------------------------------------------------- slices
@dataclass(frozen=True)
class Piece:
    """One request: the slice whose events it counts (`core`) and the range it reads."""

    core_since: datetime
    core_until: datetime
    since: datetime
    until: datetime


def plan(
    since: datetime, until: datetime, width: timedelta, origin: datetime, margin: timedelta
) -> tuple[list[Piece], bool]:
    """The requests covering [since, until) and whether their windows are disjoint (every
    window inside one slice). Slice edges are origin + k·L, L a whole number of windows;
    a range that fits one request is one slice without margins."""
    if until - since <= REQUEST_SPAN:
        return [Piece(since, until, since, until)], True
    longest = REQUEST_SPAN - 2 * margin
    if width <= longest:
        length = (longest // width) * width
        disjoint = True
        k = (since - origin) // length
        edges = []
        edge = origin + k * length
        while edge < until:
            edges.append(edge)
            edge += length
    else:
        length, disjoint = longest, False
        edges = []
        edge = since
        while edge < until:
            edges.append(edge)
            edge += length
    pieces = []
    for lo in edges:
        core_since, core_until = max(since, lo), min(until, lo + length)
        if core_since >= core_until:
            continue
        pieces.append(Piece(
            core_since, core_until, max(since, core_since - margin), min(until, core_until + margin)
        ))
    return pieces, disjoint


def _whole_minutes(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    lo = since.replace(second=0, microsecond=0)
    hi = until.replace(second=0, microsecond=0)
    if hi < until:
        hi += timedelta(minutes=1)
    return lo, hi


# ---------------------------------------------------------------------------- the engine
class SupabaseEngine:
    """The detectors of PUSHED on a hosted project's log store (see the module doc)."""

    name = NAME

    def __init__(
        self,
        client: LogsClient,
        since: datetime,
        until: datetime,
        *,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.client = client
        self.since = since
        self.until = until
        self.policy = policy or client.policy
        self._facts: dict[tuple, tuple] = {}

    # ------------------------------------------------------------------ support
    def supports(self, spec: DetectorSpec) -> bool:
        return supported(spec.name)

    def unsupported_reason(self, spec: DetectorSpec) -> str | None:
        return None if supported(spec.name) else UNSUPPORTED_REASON

    # ------------------------------------------------------------------ requests
    def query(self, sql: str, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """The rows of one query over [start, end): HTTP failures are retried by the
        client; an HTTP 200 carrying an error is retried here like `pull` does."""
        lo, hi = _whole_minutes(start, end)
        attempt = 0
        while True:
            attempt += 1
            try:
                body_bytes = self.client.get(sql, lo, hi)
            except TimeBudgetSpent:
                raise PullError(
                    "the time budget ran out while the logs endpoint was retried",
                    hint="try again later (the endpoint was throttling or failing)",
                ) from None
            problem = _answer_problem(body_bytes)
            if problem is None:
                return json.loads(body_bytes)["result"]
            if attempt >= self.policy.attempts:
                raise PullError(
                    f"the logs endpoint kept answering with an error: {problem[:300]}",
                    hint="try again later (Supabase answers 'Backend error! Retry your "
                    "query' while it is overloaded)",
                )
            self.client.stats.add(retries=1)
            try:
                self.client.sleep(self.policy.delay(attempt))
            except TimeBudgetSpent:
                raise PullError(
                    f"the logs endpoint kept answering with an error: {problem[:300]}",
                    hint="try again later",
                ) from None

    # ------------------------------------------------------------------ detectors
    def run(self, spec: DetectorSpec, bound: dict[str, object]) -> pl.DataFrame:
        if not supported(spec.name):
            raise DetectorError(
                f"detector {spec.name} is not supported on engine {NAME}: {UNSUPPORTED_REASON}",
                hint=f"`loganalyze detectors --engine {NAME}` lists what runs there",
            )
        since, until = bound["since"], bound["until"]
        width, origin = bound["window"], bound["origin"]
        assert isinstance(since, datetime) and isinstance(until, datetime)
        assert isinstance(width, timedelta) and isinstance(origin, datetime)
        margin = MARGIN + max(
            (v for k, v in bound.items() if k in ("match_tolerance", "reuse_interval")
             and isinstance(v, timedelta)),
            default=timedelta(),
        )
        pieces, disjoint = plan(since, until, width, origin, margin)
        if not disjoint and len(pieces) > 1 and spec.name not in _COUNTS and spec.name not in _STORMS:
            raise DetectorError(
                f"detector {spec.name} on engine {NAME}: a window of {width} is wider than "
                f"one request's slice ({REQUEST_SPAN - 2 * margin}); its percentiles and "
                "distinct users cannot be merged across slices exactly",
                hint="use a window of a day or less (--window 1h), or a range of at most a day",
            )
        sql = body(spec.name)
        schema = expected_schema(spec, bound)
        frames = []
        for piece in pieces:
            values = {**bound, "since": piece.since, "until": piece.until,
                      "core_since": piece.core_since, "core_until": piece.core_until}
            rows = self.query(render(sql, values), piece.since, piece.until)
            frames.append(rows)
        if spec.name in _STORMS:
            return self._storms(spec, frames, bound, schema)
        merged = pl.concat([to_frame(rows, schema) for rows in frames], how="vertical")
        if spec.name in _COUNTS and len(pieces) > 1:
            merged = _merge_windows(spec.name, merged, schema)
        if spec.name == "refresh_token_races":
            # the body's HAVING (`--@after_merge`), on the groups summed across slices
            merged = merged.filter(pl.col("failed_grants") > 0)
        return merged.select(spec.columns)

    def _storms(
        self, spec: DetectorSpec, pieces: list[list[dict[str, Any]]], bound: dict[str, object],
        schema: dict[str, pl.DataType],
    ) -> pl.DataFrame:
        import duckdb

        pushed_schema: dict[str, pl.DataType] = {
            "k1": pl.String(), "k2": pl.String(), "k3": pl.String(),
            "w": pl.Datetime("us", "UTC"), "label": pl.String(), "n": pl.Int64(),
        }
        pushed = pl.concat([to_frame(rows, pushed_schema) for rows in pieces], how="vertical")
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone = 'UTC'")
            con.register("pushed", pushed.to_arrow())
            table = con.sql(_own_texts()["_storms_local"], params={
                "width": bound["window"], "min_count": bound["min_count"],
                "multiple": bound["multiple"], "baseline": bound["baseline_windows"],
                "merge": bound["episodes"],
            }).to_arrow_table()
        finally:
            con.close()
        found = pl.from_arrow(table)
        assert isinstance(found, pl.DataFrame)
        k1, k2, k3 = _STORMS[spec.name]
        names = {"k1": k1, "k2": k2, "k3": k3, "label": "constraint_name" if k2 is None else None}
        found = found.rename({old: new for old, new in names.items() if new}).drop(
            [old for old, new in names.items() if not new]
        )
        frame = _cast(found, schema).select(spec.columns)
        if spec.name == "status_storms":
            order = ["window_start", "source", "status_class", "path"]
        else:
            order = ["window_start", "table_name", "constraint_name"]
        return frame.sort(order, nulls_last=True, maintain_order=True)

    # ------------------------------------------------------------------ the analysis layer
    def execute(self, sql: str, params: dict[str, object] | None = None) -> _Cursor:
        """The analysis layer's facts (rows per table in a range, the data span): one
        aggregate row, run per slice over the views and merged — count() adds, min/max
        keep the extreme. Anything else is refused."""
        params = params or {}
        key = (sql, tuple(sorted((k, repr(v)) for k, v in params.items())))
        if key in self._facts:
            return _Cursor([self._facts[key]])
        rows_of = _TABLE_ROWS.match(sql.strip())
        if rows_of and set(params) == {"since", "until"}:
            since, until = params["since"], params["until"]
            assert isinstance(since, datetime) and isinstance(until, datetime)
            self._facts[key] = (self._table_rows(since, until).get(rows_of.group(1), 0),)
            return _Cursor([self._facts[key]])
        items = _select_items(sql)
        kinds = []
        for item in items:
            head = item.split("(", 1)[0].strip().lower()
            if head not in ("count", "min", "max"):
                raise DetectorError(f"engine {NAME} answers counts and time spans only, not {item!r}")
            kinds.append(head)
        since = params.get("since", self.since)
        until = params.get("until", self.until)
        assert isinstance(since, datetime) and isinstance(until, datetime)
        since, until = max(since, self.since), min(until, self.until)
        tables = _FACT_TABLE.findall(sql)
        merged: list[object] = [0 if k == "count" else None for k in kinds]
        if since < until and not all(t in _ABSENT for t in tables):
            ch_sql = _DOLLAR.sub(lambda m: "{" + m.group(1) + ":" + _type_of(params[m.group(1)]) + "}", sql)
            ch_sql = re.sub(r"\bmin\(", "minOrNull(", re.sub(r"\bmax\(", "maxOrNull(", ch_sql))
            text = "WITH " + _tables_text() + " " + ch_sql
            pieces, _ = plan(since, until, timedelta(days=1), since, timedelta())
            for piece in pieces:
                values = {**params, "since": piece.since, "until": piece.until}
                rows = self.query(render(text, values), piece.since, piece.until)
                row = list(rows[0].values()) if rows else [None] * len(kinds)
                for i, (kind, value) in enumerate(zip(kinds, row, strict=True)):
                    merged[i] = _merge_fact(kind, merged[i], value)
        self._facts[key] = tuple(merged)
        return _Cursor([tuple(merged)])

    def _table_rows(self, since: datetime, until: datetime) -> dict[str, int]:
        """Rows of every log table in [since, until): the analysis asks table by table
        (inputs, the empty-range check, traffic after a stop); one request per slice
        answers them all."""
        since, until = max(since, self.since), min(until, self.until)
        key = ("table rows", since, until)
        if key not in self._facts:
            counts: dict[str, int] = {}
            if since < until:
                text = "WITH " + _tables_text() + " SELECT t, n FROM (" + " UNION ALL ".join(
                    "SELECT '" + table + "' AS t, count() AS n FROM " + table
                    for table in LOG_TABLES if table not in _ABSENT
                ) + ")"
                pieces, _ = plan(since, until, timedelta(days=1), since, timedelta())
                for piece in pieces:
                    values = {"since": piece.since, "until": piece.until}
                    for row in self.query(render(text, values), piece.since, piece.until):
                        counts[row["t"]] = counts.get(row["t"], 0) + int(row["n"])
            self._facts[key] = tuple(sorted(counts.items()))
        return dict(self._facts[key])  # type: ignore[arg-type]

    def close(self) -> None:
        self.client.close()


_TABLE_ROWS = re.compile(r'^SELECT count\(\*\) FROM "?(\w+)"? WHERE ts >= \$since AND ts < \$until$')
"""analysis.table_rows: answered from `_table_rows`."""
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_FACT_TABLE = re.compile(r'FROM\s+"?(\w+)"?')
_ABSENT = ("vercel_logs", "cron_runs")
"""Tables the Supabase log store never holds: counted as 0 without a request."""


@cache
def _tables_text() -> str:
    return expand_functions(minify(_own_texts()["_tables"]))


def _type_of(value: object) -> str:
    if isinstance(value, bool):
        return "Bool"
    if isinstance(value, datetime):
        return "DateTime64(6, 'UTC')"
    if isinstance(value, int | timedelta):
        return "Int64"
    if isinstance(value, float):
        return "Float64"
    return "String"


def _select_items(sql: str) -> list[str]:
    match = re.match(r"\s*SELECT\s+(.*?)\s+FROM\s", sql, re.IGNORECASE | re.DOTALL)
    if match is None:
        raise DetectorError(f"engine {NAME} cannot answer {sql[:60]!r}")
    items, depth, start = [], 0, 0
    text = match.group(1)
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            items.append(text[start:i].strip())
            start = i + 1
    items.append(text[start:].strip())
    return items


def _merge_fact(kind: str, have: object, value: object) -> object:
    if kind == "count":
        return int(have or 0) + int(value or 0)  # type: ignore[call-overload]
    if value is None:
        return have
    when = _parse_time(str(value))
    if have is None:
        return when
    return min(have, when) if kind == "min" else max(have, when)  # type: ignore[type-var]


def _parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _answer_problem(body: bytes) -> str | None:
    """Why an HTTP 200 answer carries no rows (None: it does)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return "an answer that is not JSON"
    if not isinstance(answer, dict):
        return "an answer that is not a JSON object"
    error = answer.get("error")
    if error not in (None, ""):
        return error if isinstance(error, str) else json.dumps(error)
    if not isinstance(answer.get("result"), list):
        return "an answer without a result"
    return None


# ---------------------------------------------------------------------------- frames
@cache
def _empty_frame(name: str) -> pl.DataFrame:
    """The detector's frame on an empty DuckDB database: its columns and their types."""
    from ..analysis import Analysis
    from ..store import connect

    con = connect()
    try:
        with Analysis(con, since="2026-01-01T00:00:00Z", until="2026-01-01T01:00:00Z") as analysis:
            return analysis.finding(name).frame.head(0)
    finally:
        con.close()


def expected_schema(spec: DetectorSpec, bound: dict[str, object]) -> dict[str, pl.DataType]:
    """The types DuckDB gives the detector's columns (a result is the same whatever the
    engine)."""
    return dict(_empty_frame(spec.name).schema)


def to_frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows of a JSON answer (ClickHouse's JSON: 64-bit integers and times as text) as a
    frame of `schema`. The rows are aggregates — windows × groups — never log rows."""
    text = pl.DataFrame(
        {c: [_as_text(r.get(c)) for r in rows] for c in schema}, schema=dict.fromkeys(schema, pl.String)
    )
    return _cast(text, schema)


def _as_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _cast(frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    exprs = []
    for name, dtype in schema.items():
        column = pl.col(name)
        if frame.schema[name] == dtype:
            exprs.append(column)
        elif isinstance(dtype, pl.Datetime) and frame.schema[name] == pl.String:
            exprs.append(
                column.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit=dtype.time_unit or "us",
                                       time_zone="UTC").dt.convert_time_zone(dtype.time_zone or "UTC")
            )
        elif dtype == pl.Boolean and frame.schema[name] == pl.String:
            exprs.append(column.is_in(["true", "1"]))
        else:
            exprs.append(column.cast(dtype))
    return frame.select(exprs)


def _merge_windows(name: str, frame: pl.DataFrame, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows of the same window and group from two slices → one: counts add, sources unite."""
    counts = _COUNTS[name]
    keys = [c for c in schema if c not in counts and c != "sources"]
    aggs = [pl.col(c).sum() for c in counts]
    if "sources" in schema:
        aggs.append(pl.col("sources").str.split(",").explode().unique().sort().str.join(","))
    merged = frame.group_by(keys, maintain_order=True).agg(aggs)
    merged = _cast(merged.select(list(schema)), schema)
    order = _ORDER[name]
    return merged.sort([c for c, _ in order], descending=[d for _, d in order], nulls_last=True,
                       maintain_order=True)


# ---------------------------------------------------------------------------- opening
def supabase_engine(
    project: str,
    *,
    since: datetime,
    until: datetime,
    token: str | None = None,
    api_url: str | None = None,
    policy: RetryPolicy | None = None,
    concurrency: int = 2,
    timeout: float = 120.0,
) -> SupabaseEngine:
    """The engine for `project` over [since, until) (token: $SUPABASE_ACCESS_TOKEN)."""
    check_project_ref(project)
    policy = policy or RetryPolicy()
    client = LogsClient(
        project, token or read_token(), base_url=api_url, policy=policy,
        throttle=Throttle(concurrency), deadline=Deadline(policy.total), timeout=timeout,
    )
    return SupabaseEngine(client, since, until, policy=policy)


def resolve_since_until(
    since: str | datetime | timedelta | None,
    until: str | datetime | timedelta | None,
    last: str | timedelta | None,
    *,
    now: datetime | None = None,
) -> tuple[datetime, datetime]:
    """The absolute range a push-down reads: --since (default 2h before now) to --until
    (default now); `--last D` is the D before now (the store's newest event is not known
    before a request)."""
    from ..timeparse import format_duration, parse_duration, parse_instant

    clock = now or datetime.now(UTC)
    if last is not None:
        if since is not None or until is not None:
            raise UsageError("--last cannot be combined with --since/--until")
        since = format_duration(parse_duration(last))
    start = parse_instant(since if since is not None else "2h", now=clock)
    end = parse_instant(until, now=clock) if until is not None else clock
    if start >= end:
        raise UsageError(f"empty time range: {start.isoformat()} is not before {end.isoformat()}",
                         hint="--since must be earlier than --until")
    return start, end


def finding_on_supabase(
    project: str | None,
    name: str,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = "1m",
    api_url: str | None = None,
    policy: RetryPolicy | None = None,
    token: str | None = None,
    **params: object,
):
    """One detector's Finding, pushed down to `project`'s log store."""
    from . import detect_on

    if not project:
        raise UsageError("--engine supabase needs --project REF",
                         hint="the project ref: 20 letters, as in <ref>.supabase.co")
    check_project_ref(project)
    spec = get_detector(name)
    if not supported(spec.name):
        raise DetectorError(
            f"detector {spec.name} is not supported on engine {NAME}: {UNSUPPORTED_REASON}",
            hint=f"`loganalyze detectors --engine {NAME}` lists what runs there",
        )
    start, end = resolve_since_until(since, until, last)
    engine = supabase_engine(project, since=start, until=end, token=token, api_url=api_url,
                             policy=policy)
    try:
        finding = detect_on(engine, spec.name, since=start, until=end, window=window, **params)
        finding.caveats += pushdown_caveats(engine, spec, start, end)
        return finding
    finally:
        engine.close()


_READS_DB_ERRORS = ("db_errors", "schema_errors", "conflict_storms")
_UNCODED = (
    "SELECT count(*) FROM postgres_logs WHERE sqlstate IS NULL "
    "AND severity IN ('ERROR', 'FATAL', 'PANIC') AND ts >= $since AND ts < $until",
    "SELECT count(*) FROM postgrest_logs WHERE status IS NULL AND ts >= $since AND ts < $until",
)


def pushdown_caveats(
    engine: SupabaseEngine, spec: DetectorSpec, since: datetime, until: datetime
) -> tuple[str, ...]:
    """What the push-down cannot see that `ingest` would: error rows without a SQLSTATE,
    whose code ingest infers from the message text (a catalog the store does not hold)."""
    if spec.name not in _READS_DB_ERRORS:
        return ()
    uncoded = 0
    for sql in _UNCODED:
        row = engine.execute(sql, {"since": since, "until": until}).fetchone()
        uncoded += int(row[0]) if row else 0
    if not uncoded:
        return ()
    return (
        f"{uncoded:,} Postgres/PostgREST error rows in the range carry no SQLSTATE: "
        "`loganalyze ingest` infers one from the message text, the push-down does not "
        "count them (pull the range and run locally to include them)",
    )


def open_supabase(
    project: str | None = None,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    **options: Any,
) -> SupabaseEngine:
    """`open_engine("supabase", project=..., since=..., until=...)`: the range resolved
    once to absolute times (pass the engine's `since`/`until` to the analysis)."""
    if not project:
        raise UsageError("--engine supabase needs --project REF",
                         hint="the project ref: 20 letters, as in <ref>.supabase.co")
    start, end = resolve_since_until(since, until, last)
    return supabase_engine(project, since=start, until=end, **options)


def support_table() -> list[tuple[DetectorSpec, str | None]]:
    return [(s, None if supported(s.name) else UNSUPPORTED_REASON) for s in list_detectors()]


__all__ = [
    "PUSHED",
    "SupabaseEngine",
    "body",
    "finding_on_supabase",
    "open_supabase",
    "plan",
    "render",
    "supabase_engine",
    "support_table",
    "supported",
]
