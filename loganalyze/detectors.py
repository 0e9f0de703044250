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
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path

import polars as pl

from .errors import DetectorError
from .findings import METRIC_KINDS, Caveat, Metric
from .timeparse import parse_duration, parse_instant

PARAM_TYPES = ("interval", "timestamp", "integer", "double", "varchar", "boolean")
BOUND_FOR_EVERY_DETECTOR = ("since", "until", "window", "origin")
DEFAULT_WINDOW = "1m"
WHOLE_RANGE = "all"
"""`window="all"`: one window spanning the whole range, starting at its start."""
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
    metric_specs: tuple[Metric, ...]
    """Numeric columns (count, p95_ms, ...) with their declared kind, unit and label."""
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
    needs: tuple[tuple[str, ...], ...] = ()
    """Input tables: each group needs at least one of its tables to have rows in the
    range, else the result is inconclusive (an empty result would mean "no data")."""
    caveats: tuple[Caveat, ...] = ()
    rollup: tuple[str, str] | None = None
    """(column, value): rows holding that value are the totals; the others break them down."""
    series_params: tuple[tuple[str, str], ...] = ()
    """Parameters that give one row per window when the default rows merge windows."""
    headline: str | None = None
    """A template naming the top subject (`{sqlstate} `{message}``): the detector finds
    problems, and the report's headline states them in one sentence."""
    headline_when: str | None = None
    """`METRIC OP NUMBER` over the totals: the headline only when it holds."""
    examples: tuple[tuple[str, str], ...] = ()
    """(table, SQL condition on its columns): where the raw log lines of what the
    detector finds are, for the report's examples."""

    @property
    def metrics(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metric_specs)

    def metric(self, name: str) -> Metric:
        for m in self.metric_specs:
            if m.name == name:
                return m
        raise DetectorError(
            f"detector {self.name} has no metric {name!r}",
            hint="metrics: " + ", ".join(self.metrics),
        )

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the detector declares it needs."""
        return tuple(dict.fromkeys(t for group in self.needs for t in group))

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


_HEADER_LINE = re.compile(r"^--\s*([a-z_]+)(?:\s+([A-Za-z_][A-Za-z0-9_.]*))?\s*:\s*(.*)$")
_EXAMPLE_TABLES = (
    "edge_logs", "postgres_logs", "auth_logs", "realtime_logs", "postgrest_logs",
    "function_edge_logs", "supavisor_logs", "vercel_logs", "cron_runs",
)  # fmt: skip
_METRIC_DECL = re.compile(r"^([a-z]+)\s*(?:\[([^\]]*)\])?\s*(?:--\s*(.*))?$")
_PARAM_DECL = re.compile(r"^([a-z]+)\s*=\s*(.*?)\s*(?:--\s*(.*))?$")
_BOUND_NAME = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def parse_header(sql: str, path: Path) -> DetectorSpec:
    """Read a detector's `-- key: value` header (it ends at the first non-comment line)."""
    fields: dict[str, str] = {}
    params: list[DetectorParam] = []
    metrics: list[Metric] = []
    needs: list[tuple[str, ...]] = []
    caveats: list[Caveat] = []
    examples: list[tuple[str, str]] = []
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
        if key == "example":
            if not param_name or param_name not in _EXAMPLE_TABLES:
                raise DetectorError(f"{path}: `-- example TABLE: CONDITION` needs a log table: {line}")
            examples.append((param_name, value))
            last_key = None
            continue
        if key in ("param", "metric", "caveat"):
            if not param_name:
                raise DetectorError(f"{path}: `-- {key}` without a name: {line}")
            if key == "param":
                params.append(_parse_param(param_name, value, path))
            elif key == "metric":
                metrics.append(_parse_metric(param_name, value, path))
            else:
                table, _, column = param_name.partition(".")
                caveats.append(Caveat(table, column or None, value))
            last_key = None
            continue
        if key == "needs":
            needs.append(tuple(t.strip() for t in value.split("|") if t.strip()))
            last_key = None
            continue
        fields[key] = value
        last_key = key
    for required in ("name", "title", "finds", "subject"):
        if required not in fields:
            raise DetectorError(f"{path}: detector header lacks `-- {required}:`")
    if not metrics:
        raise DetectorError(f"{path}: detector header declares no `-- metric NAME: KIND`")
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
        metric_specs=tuple(metrics),
        events=events,
        windowed=fields.get("windowed", "true").strip().lower() in ("true", "yes", "1"),
        rank=int(fields.get("rank", "100")),
        sql=sql,
        path=path,
        details=_names(fields.get("details", "")),
        needs=tuple(needs),
        caveats=tuple(caveats),
        rollup=_rollup(fields.get("rollup"), path),
        headline=fields.get("headline") or None,
        examples=tuple(examples),
        headline_when=fields.get("headline_when") or None,
        series_params=tuple(
            (k.strip(), v.strip())
            for k, _, v in (a.partition("=") for a in _names(fields.get("series", "")))
        ),
    )


def _parse_metric(name: str, decl: str, path: Path) -> Metric:
    match = _METRIC_DECL.match(decl)
    if match is None or match.group(1) not in METRIC_KINDS:
        raise DetectorError(
            f"{path}: bad metric declaration for {name}: {decl!r}",
            hint="-- metric NAME: KIND [UNIT] -- label, KIND one of " + ", ".join(METRIC_KINDS),
        )
    return Metric(name, match.group(1), (match.group(2) or "").strip(), (match.group(3) or "").strip())


def _rollup(text: str | None, path: Path) -> tuple[str, str] | None:
    if not text:
        return None
    column, sep, value = text.partition("=")
    if not sep or not column.strip():
        raise DetectorError(f"{path}: `-- rollup:` expects COLUMN = VALUE, got {text!r}")
    return column.strip(), value.strip()


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


def prepare(con) -> None:
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


def execute(
    con, spec: DetectorSpec, bound: dict[str, object], sql: str | None = None
) -> pl.DataFrame:
    """Run a detector's SQL (or `sql`, the same SQL reading shared results) with every
    parameter bound → a frame with exactly the declared columns."""
    declared = set(_BOUND_NAME.findall(_sql_body(spec.sql)))
    missing = declared - set(bound)
    if missing:
        raise DetectorError(f"{spec.path}: uses undeclared parameter(s) {sorted(missing)}")
    import duckdb

    prepare(con)
    sql = spec.sql if sql is None else sql
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


__all__ = [
    "DEFAULT_WINDOW",
    "WHOLE_RANGE",
    "DetectorParam",
    "DetectorSpec",
    "execute",
    "get_detector",
    "list_detectors",
    "parse_header",
    "parse_param_assignments",
    "prepare",
    "queries_dir",
    "set_query_dirs",
    "resolve_params",
]
