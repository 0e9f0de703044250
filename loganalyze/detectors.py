"""The detector library: discover `queries/*.sql`, parse their headers, bind parameters,
run them on a loganalyze database and return findings as polars DataFrames.

Each detector is one SQL file whose header (see queries/README.md) names it, says what it
finds, declares its parameters with types and defaults, and lists its output columns.
Values are always bound as DuckDB `$name` parameters; `$since`, `$until` (the half-open
range `[since, until)`) and `$window` (bucket width) are bound for every detector.

Shared building blocks (deduplicated request views, SQLSTATE helpers) live in
`queries/_macros.sql` as temporary macros, created on the connection before a detector
runs; files whose name starts with `_` are not detectors.

An analysis range that selects no events while the database has events elsewhere is not
silently an empty table: `detect()` returns a `Finding` whose `notice` says so with the
data's real span, and `run_detector()` issues an `EmptyRangeWarning` with that text.
"""

from __future__ import annotations

import hashlib
import math
import re
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from .errors import DetectorError
from .timeparse import TimeRange, bounded_window, parse_duration, parse_instant, resolve_range

PARAM_TYPES = ("interval", "timestamp", "integer", "double", "varchar", "boolean")
BOUND_FOR_EVERY_DETECTOR = ("since", "until", "window", "origin")
DEFAULT_WINDOW = "1m"
WHOLE_RANGE = "all"
"""`window="all"`: one window spanning the whole range, starting at its start."""
# Windows are aligned on DuckDB's own default origin (a Monday, midnight UTC), so that
# minutes, hours, days and weeks start where a person expects.
BUCKET_ORIGIN = datetime(2000, 1, 3, tzinfo=UTC)
_NOWHERE = datetime(1970, 1, 1, tzinfo=UTC)
# The width of the single window of an unbounded range (an empty database).
_UNBOUNDED = timedelta(days=365_000)
MACROS_FILE = "_macros.sql"


@dataclass(frozen=True)
class DetectorParam:
    name: str
    type: str
    default: object
    doc: str


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    title: str
    finds: str
    params: tuple[DetectorParam, ...]
    subject: tuple[str, ...]
    """Columns saying what a row is about (path, table_name, message, user_id, route, ...)."""
    metrics: tuple[str, ...]
    """Numeric columns (count, p95_ms, calls_per_request_mean, ...)."""
    events: str | None
    """The column that counts events (what `min_events` of a check looks at)."""
    windowed: bool
    """Rows carry `window_start` (their first column)."""
    rank: int
    """Report ordering: lower is more severe."""
    sql: str
    path: Path
    details: tuple[str, ...] = ()
    """Descriptive non-numeric columns after the metrics (e.g. `window_end`, `sources`)."""

    @property
    def columns(self) -> tuple[str, ...]:
        """Every output column, in order."""
        head = ("window_start",) if self.windowed else ()
        return head + self.subject + self.metrics + self.details

    def param(self, name: str) -> DetectorParam:
        for p in self.params:
            if p.name == name:
                return p
        raise DetectorError(
            f"detector {self.name} has no parameter {name!r}",
            hint="valid parameters: " + ", ".join(p.name for p in self.params),
        )


@dataclass(frozen=True)
class Finding:
    """One detector's result over one range."""

    spec: DetectorSpec
    frame: pl.DataFrame
    time_range: TimeRange
    params: dict[str, Any] = field(default_factory=dict)
    notice: str | None = None
    """Set when the range selected no events although the database has some elsewhere,
    or when the database is empty: the text to show instead of a bare empty table."""


class EmptyRangeWarning(UserWarning):
    """The analysed range holds no events while the database has events elsewhere."""


# --------------------------------------------------------------------------- discovery


def queries_dir() -> Path:
    """Where the detector SQL files are: inside the installed package, else the repo's
    `queries/` next to the package (editable installs)."""
    packaged = resources.files("loganalyze") / "queries"
    try:
        if packaged.is_dir():
            return Path(str(packaged))
    except (FileNotFoundError, NotADirectoryError):  # pragma: no cover
        pass
    return Path(__file__).resolve().parent.parent / "queries"


_HEADER_LINE = re.compile(r"^--\s*([a-z_]+)(?:\s+([A-Za-z_][A-Za-z0-9_]*))?\s*:\s*(.*)$")
_PARAM_DECL = re.compile(r"^([a-z]+)\s*=\s*(.*?)\s*(?:--\s*(.*))?$")
_BOUND_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def parse_header(sql: str, path: Path) -> DetectorSpec:
    """Read a detector's `-- key: value` header (it ends at the first non-comment line)."""
    fields: dict[str, str] = {}
    params: list[DetectorParam] = []
    last_key: str | None = None
    for raw in sql.splitlines():
        line = raw.strip()
        if not line.startswith("--"):
            break
        match = _HEADER_LINE.match(line)
        if match is None:
            # An indented continuation line extends the previous field.
            text = line[2:].strip()
            if last_key and last_key in fields and text:
                fields[last_key] += " " + text
            continue
        key, param_name, value = match.group(1), match.group(2), match.group(3).strip()
        if key == "param":
            if not param_name:
                raise DetectorError(f"{path}: `-- param` without a name: {line}")
            params.append(_parse_param(param_name, value, path))
            last_key = None
            continue
        fields[key] = value
        last_key = key
    for required in ("name", "title", "finds", "subject", "metrics"):
        if required not in fields:
            raise DetectorError(f"{path}: detector header lacks `-- {required}:`")
    if fields["name"] != path.stem:
        raise DetectorError(f"{path}: header name {fields['name']!r} differs from file name")
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise DetectorError(f"{path}: a parameter is declared twice")
    events = fields.get("events", "").strip() or None
    if events in ("none", "-"):
        events = None
    return DetectorSpec(
        name=fields["name"],
        title=fields["title"],
        finds=fields["finds"],
        params=tuple(params),
        subject=_names(fields["subject"]),
        metrics=_names(fields["metrics"]),
        events=events,
        windowed=fields.get("windowed", "true").strip().lower() in ("true", "yes", "1"),
        rank=int(fields.get("rank", "100")),
        sql=sql,
        path=path,
        details=_names(fields.get("details", "")),
    )


def _names(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _parse_param(name: str, decl: str, path: Path) -> DetectorParam:
    match = _PARAM_DECL.match(decl)
    if match is None or match.group(1) not in PARAM_TYPES:
        raise DetectorError(
            f"{path}: bad parameter declaration for {name}: {decl!r}",
            hint="-- param NAME: TYPE = DEFAULT -- doc, TYPE one of " + ", ".join(PARAM_TYPES),
        )
    ptype, default_text, doc = match.group(1), match.group(2), match.group(3) or ""
    default = None if default_text.lower() == "null" else convert_param(name, ptype, default_text)
    return DetectorParam(name=name, type=ptype, default=default, doc=doc.strip())


@cache
def _load(directory: str) -> tuple[DetectorSpec, ...]:
    specs = []
    for path in sorted(Path(directory).glob("*.sql")):
        if path.name.startswith("_"):
            continue
        specs.append(parse_header(path.read_text(encoding="utf-8"), path))
    return tuple(sorted(specs, key=lambda s: (s.rank, s.name)))


@cache
def _macros_sql(directory: str) -> str:
    path = Path(directory) / MACROS_FILE
    return path.read_text(encoding="utf-8") if path.exists() else ""


_extra_query_dirs: list[str] = []


def set_query_dirs(directories: list[Path] | list[str]) -> None:
    """Discover detectors in these directories too (a team's own `*.sql`, same header
    format), besides the bundled ones; an empty list leaves only the bundled ones."""
    _extra_query_dirs[:] = list(dict.fromkeys(str(Path(d).resolve()) for d in directories))


def list_detectors() -> list[DetectorSpec]:
    """Every detector (bundled, then those of `set_query_dirs`), most severe first (by
    `rank`, then name)."""
    specs = list(_load(str(queries_dir())))
    if not _extra_query_dirs:
        return specs
    defined = {s.name: s.path for s in specs}
    for directory in _extra_query_dirs:
        for spec in _load(directory):
            if spec.name in defined:
                raise DetectorError(
                    f"{spec.path}: detector {spec.name!r} is already defined by "
                    f"{defined[spec.name]}",
                    hint="give the team's detector a name of its own (file name and "
                    "`-- name:` header)",
                )
            defined[spec.name] = spec.path
            specs.append(spec)
    return sorted(specs, key=lambda s: (s.rank, s.name))


def get_detector(name: str) -> DetectorSpec:
    for spec in list_detectors():
        if spec.name == name:
            return spec
    raise DetectorError(
        f"unknown detector {name!r}",
        hint="known detectors: " + ", ".join(s.name for s in list_detectors()),
    )


# --------------------------------------------------------------------------- parameters

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def convert_param(name: str, ptype: str, value: object) -> object:
    """Coerce a parameter value (often a `--param k=v` string) to its declared type."""
    try:
        if value is None:
            return None
        if ptype == "interval":
            return parse_duration(value)  # type: ignore[arg-type]
        if ptype == "timestamp":
            return parse_instant(value)  # type: ignore[arg-type]
        if ptype == "integer":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return int(str(value).strip()) if isinstance(value, str) else int(value)  # type: ignore[call-overload]
        if ptype == "double":
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)  # type: ignore[arg-type]
        if ptype == "boolean":
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in _TRUE:
                return True
            if text in _FALSE:
                return False
            raise ValueError(value)
        if ptype == "varchar":
            return str(value)
    except (ValueError, TypeError, DetectorError) as exc:
        raise DetectorError(
            f"parameter {name}: {value!r} is not a valid {ptype}",
            hint=_type_hint(ptype),
        ) from exc
    except Exception as exc:  # UsageError from timeparse
        raise DetectorError(f"parameter {name}: {exc}", hint=_type_hint(ptype)) from exc
    raise DetectorError(f"parameter {name}: unknown type {ptype}")


def _type_hint(ptype: str) -> str:
    return {
        "interval": "a duration such as 10s, 1m, 2h",
        "timestamp": "an ISO timestamp such as 2026-03-14T09:00:00Z",
        "integer": "a whole number",
        "double": "a number",
        "boolean": "true or false",
        "varchar": "text",
    }.get(ptype, ptype)


def parse_param_assignments(pairs: list[str] | None) -> dict[str, str]:
    """`["k=v", ...]` (from `--param`) → dict; malformed pairs are a DetectorError."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise DetectorError(f"--param expects NAME=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def resolve_params(spec: DetectorSpec, overrides: dict[str, object]) -> dict[str, object]:
    """Defaults overridden by `overrides`, each typed; unknown names are a DetectorError."""
    known = {p.name: p for p in spec.params}
    unknown = sorted(set(overrides) - set(known))
    if unknown:
        valid = ", ".join(f"{p.name} ({p.type}, default {p.default})" for p in spec.params)
        raise DetectorError(
            f"detector {spec.name} has no parameter {', '.join(unknown)}",
            hint="valid parameters: " + (valid or "none besides --since/--until/--window"),
        )
    values = {name: p.default for name, p in known.items()}
    for name, value in overrides.items():
        values[name] = convert_param(name, known[name].type, value)
    return values


def _sql_body(sql: str) -> str:
    """The SQL without `--` comments, to find the `$names` it really uses."""
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


# --------------------------------------------------------------------------- running


def window_notice(time_range: TimeRange, con=None) -> str | None:
    """The text to show when the range selects no event, else None. Without `con` only
    the data's span is consulted; with it, a range inside a gap of the data counts too."""
    if not time_range.has_data:
        return "no events: " + time_range.describe_data()
    empty = not time_range.overlaps_data()
    if not empty and con is not None:
        empty = _events_in_range(con, time_range) == 0
    if empty:
        return (
            f"the range {time_range.describe()} selects no events; "
            f"{time_range.describe_data()} (try --last, or --since/--until inside that span)"
        )
    return None


def _events_in_range(con, time_range: TimeRange) -> int:
    from .store import LOG_TABLES, quote_ident

    counts = " UNION ALL ".join(
        "SELECT count(*) AS n FROM " + quote_ident(t) + " WHERE ts >= $since AND ts < $until"
        for t in LOG_TABLES
    )
    since = time_range.start or _NOWHERE
    until = time_range.end or datetime.max.replace(tzinfo=UTC)
    rows = con.execute("SELECT sum(n) FROM (" + counts + ")", {"since": since, "until": until})
    return int(rows.fetchall()[0][0] or 0)


def window_buckets(window: str | timedelta, time_range: TimeRange) -> tuple[timedelta, datetime]:
    """Bucket width and origin for `$window`/`$origin`: a duration on the fixed origin, or
    `"all"` for one window covering the whole range."""
    if isinstance(window, str) and window.strip().lower() == WHOLE_RANGE:
        if time_range.start is None or time_range.end is None:
            return _UNBOUNDED, BUCKET_ORIGIN
        span = time_range.end - time_range.start
        if span >= timedelta(days=1):
            # time_bucket takes whole days or a sub-day width, never a mix.
            span = timedelta(days=math.ceil(span / timedelta(days=1)))
        return span, time_range.start
    # one stray timestamp years away must not make a detector build millions of windows
    return bounded_window(time_range, window).width, BUCKET_ORIGIN


def _prepare(con) -> None:
    """UTC and the shared macros, created once per connection (a session variable records
    which version of _macros.sql the connection holds)."""
    con.execute("SET TimeZone = 'UTC'")
    macros = _macros_sql(str(queries_dir()))
    if not macros:
        return
    version = hashlib.sha256(macros.encode()).hexdigest()[:16]
    rows = con.execute("SELECT getvariable('loganalyze_detector_macros')").fetchall()
    if rows[0][0] != version:
        con.execute(macros)
        con.execute("SET VARIABLE loganalyze_detector_macros = $v", {"v": version})


@dataclass(frozen=True)
class SharedResult:
    """A table macro several detectors read with the same arguments over one range: its
    result is kept in a temp table on the connection, and detector SQL that calls it with
    exactly `call` reads the table instead. The table is rebuilt when the bound arguments,
    the macros or the row counts of the tables it `reads` differ from the last build, so
    runs over different ranges on one connection each see their own range."""

    call: str
    table: str
    params: tuple[str, ...]
    reads: tuple[str, ...]

    @property
    def key_variable(self) -> str:
        return self.table + "_key"


SHARED_RESULTS = (
    # hot_path_cost and load_projection: the attribution ASOF join is their main cost.
    SharedResult(
        "det_route_calls($since, $until, $burst_gap)",
        "loganalyze_shared_route_calls",
        ("since", "until", "burst_gap"),
        ("edge_logs", "vercel_logs"),
    ),
    SharedResult(
        "det_participant_minutes($since, $until)",
        "loganalyze_shared_participant_minutes",
        ("since", "until"),
        ("edge_logs",),
    ),
)


def _shared_key(con, shared: SharedResult, bound: dict[str, object]) -> str:
    from .store import quote_ident

    counts = con.execute(
        "SELECT " + ", ".join("(SELECT count(*) FROM " + quote_ident(t) + ")" for t in shared.reads)
    ).fetchall()[0]
    version = con.execute("SELECT getvariable('loganalyze_detector_macros')").fetchall()[0][0]
    args = [repr(bound[name]) for name in shared.params]
    return "|".join([str(version), *args, *map(str, counts)])


def _with_shared_results(con, sql: str, bound: dict[str, object]) -> str:
    """`sql` reading the shared results it calls from their temp tables (built if stale);
    a call whose table cannot be built (e.g. no temp storage) stays a macro call."""
    import duckdb

    from .store import quote_ident

    for shared in SHARED_RESULTS:
        if shared.call not in sql:
            continue
        table = quote_ident(shared.table)
        try:
            key = _shared_key(con, shared, bound)
            built = con.execute(
                "SELECT getvariable($name), (SELECT count(*) FROM duckdb_tables() "
                "WHERE temporary AND table_name = $table)",
                {"name": shared.key_variable, "table": shared.table},
            ).fetchall()[0]
            if built[0] != key or not built[1]:
                con.execute(
                    "CREATE OR REPLACE TEMP TABLE " + table + " AS SELECT * FROM " + shared.call,
                    {name: bound[name] for name in shared.params},
                )
                con.execute(
                    "SET VARIABLE " + quote_ident(shared.key_variable) + " = $key", {"key": key}
                )
        except duckdb.Error:
            continue
        sql = sql.replace(shared.call, table)
    return sql


def _execute(con, spec: DetectorSpec, bound: dict[str, object]) -> pl.DataFrame:
    declared = set(_BOUND_NAME.findall(_sql_body(spec.sql)))
    missing = declared - set(bound)
    if missing:
        raise DetectorError(f"{spec.path}: uses undeclared parameter(s) {sorted(missing)}")
    import duckdb

    sql = _with_shared_results(con, spec.sql, bound)
    used = set(_BOUND_NAME.findall(_sql_body(sql)))
    try:
        relation = con.sql(sql, params={k: v for k, v in bound.items() if k in used})
        table = relation.to_arrow_table() if relation is not None else None
    except duckdb.Error as exc:
        text = str(exc).strip()
        if "invalid parameter" in text:
            # A detector's own guard on a parameter value (DuckDB's error()).
            raise DetectorError(
                f"detector {spec.name}: {text.split('invalid parameter', 1)[1].strip()}",
                hint="valid parameters: " + ", ".join(p.name for p in spec.params),
            ) from None
        raise DetectorError(
            f"detector {spec.name} failed: {text.splitlines()[0]}",
            hint="is this a loganalyze database? `loganalyze schema` lists the expected tables",
        ) from None
    frame = pl.from_arrow(table) if table is not None else pl.DataFrame()
    assert isinstance(frame, pl.DataFrame)
    if tuple(frame.columns) != spec.columns:
        raise DetectorError(
            f"{spec.path}: returned columns {frame.columns}, header declares {list(spec.columns)}"
        )
    return frame


def detect(
    con,
    name: str,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
    time_range: TimeRange | None = None,
    **params: object,
) -> Finding:
    """Run one detector and keep its context (range, bound params, notice)."""
    spec = get_detector(name)
    values = resolve_params(spec, params)
    if time_range is None:
        time_range = resolve_range(con, since, until, last)
    width, origin = window_buckets(window, time_range)
    bound: dict[str, object] = dict(values)
    # An empty database has no range: bind an empty one so every $since/$until is typed.
    since_at = time_range.start or _NOWHERE
    until_at = time_range.end or _NOWHERE
    bound.update(since=since_at, until=until_at, window=width, origin=origin)
    _prepare(con)
    frame = _execute(con, spec, bound)
    return Finding(spec, frame, time_range, bound, window_notice(time_range, con))


def run_detector(
    con,
    name: str,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
    **params: object,
) -> pl.DataFrame:
    """Run one detector → polars DataFrame (columns: `spec.columns`).

    When the range selects no events but the database has some elsewhere, an
    `EmptyRangeWarning` carries the data's real span (use `detect()` to get it as
    `Finding.notice` instead).
    """
    finding = detect(con, name, since=since, until=until, last=last, window=window, **params)
    if finding.notice and finding.time_range.has_data:
        warnings.warn(finding.notice, EmptyRangeWarning, stacklevel=2)
    return finding.frame


def detect_all(
    con,
    names: list[str] | None = None,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
) -> dict[str, Finding]:
    """Run several detectors (all by default) over one resolved range."""
    specs = list_detectors() if names is None else [get_detector(n) for n in names]
    time_range = resolve_range(con, since, until, last)
    return {
        spec.name: detect(con, spec.name, window=window, time_range=time_range) for spec in specs
    }


def run_all(
    con,
    names: list[str] | None = None,
    *,
    since: str | datetime | timedelta | None = None,
    until: str | datetime | timedelta | None = None,
    last: str | timedelta | None = None,
    window: str | timedelta = DEFAULT_WINDOW,
) -> dict[str, pl.DataFrame]:
    """Every (or the named) detector over one range → {name: DataFrame}."""
    findings = detect_all(con, names, since=since, until=until, last=last, window=window)
    first = next(iter(findings.values()), None)
    if first is not None and first.notice and first.time_range.has_data:
        warnings.warn(first.notice, EmptyRangeWarning, stacklevel=2)
    return {name: f.frame for name, f in findings.items()}


__all__ = [
    "DetectorParam",
    "DetectorSpec",
    "EmptyRangeWarning",
    "Finding",
    "detect",
    "detect_all",
    "get_detector",
    "list_detectors",
    "markdown_table",
    "parse_header",
    "parse_param_assignments",
    "queries_dir",
    "set_query_dirs",
    "resolve_params",
    "run_all",
    "run_detector",
    "window_notice",
]


# --------------------------------------------------------------------------- docs

README_BEGIN = "<!-- detectors:begin (python -m loganalyze.detectors --write-readme) -->"
README_END = "<!-- detectors:end -->"


def markdown_table() -> str:
    """The detector table of queries/README.md, generated from the headers."""
    lines = [
        "| rank | name | title | parameters (type = default) | subject | metrics |",
        "|---:|---|---|---|---|---|",
    ]
    for spec in list_detectors():
        params = "<br>".join(
            f"`{p.name}`: {p.type} = `{_default_text(p.default)}`".replace("|", "\\|")
            for p in spec.params
        )
        lines.append(
            f"| {spec.rank} | `{spec.name}` | {spec.title} | {params or '-'} | "
            f"{', '.join(spec.subject) or '-'} | {', '.join(spec.metrics)} |"
        )
    return "\n".join(lines)


def _default_text(value: object) -> str:
    from .timeparse import format_duration

    if value is None:
        return "null"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def readme_with_table(text: str) -> str:
    """`text` (queries/README.md) with the generated table between its markers."""
    from .docs_sync import replace_marked

    try:
        return replace_marked(text, README_BEGIN, README_END, markdown_table())
    except ValueError:
        raise DetectorError("queries/README.md lacks the detector table markers") from None


def _main(argv: list[str]) -> int:
    if argv != ["--write-readme"]:
        print("usage: python -m loganalyze.detectors --write-readme")
        return 2
    path = queries_dir() / "README.md"
    path.write_text(readme_with_table(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
