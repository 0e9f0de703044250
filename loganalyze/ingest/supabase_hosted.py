"""Hosted Supabase exports: Logs Explorer "Download JSON" / "Download CSV", Management API
responses (`{"result": [...], "error": ...}`), log-drain batches and NDJSON, in both the
BigQuery-era row shape (`metadata` = array of one record, every nested record again a
one-element array) and the ClickHouse-era shape (`source` + flat `log_attributes` map of
strings), including partial exports where only some columns were selected.

Every row is read as one JSON value (DuckDB's `read_json_objects`, so no key is lost to
schema inference), routed to its log table by the keys it carries, and normalized with
one `json_extract_string` call per row over the candidate paths of that table. The file
is read once for the table and shape of its first rows, over that shape's paths only and
on every thread; rows of another table or shape are set aside in that pass and read
after with the general plan, which tries every shape's path for each field.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..store import LOG_TABLES, quote_ident
from .core import FileContext, LogFormat, register
from .files import Sample, first_object_keys
from .gotrue import carry_sibling_errors

# The Supabase sources; Vercel and pg_cron have readers of their own.
HOSTED_TABLES = tuple(t for t in LOG_TABLES if t not in ("vercel_logs", "cron_runs"))

# Keys that make a JSON object a hosted log row (full rows, ClickHouse rows, and the
# flattened columns of partial exports produced by the Studio's default queries).
_ROW_KEYS = {"event_message", "metadata", "log_attributes"}
_PARTIAL_KEYS = {
    "status_code", "origin_time", "error_severity", "sql_state_code", "execution_time_ms",
    "function_id", "msg",
}
_FOREIGN_KEYS = {"deploymentId", "projectId", "requestMethod", "TimeUTC", "rowId", "proxy"}

# A log row is never near this (the platform truncates events at 100,000 characters);
# DuckDB sizes its read buffer from it, so it stays modest.
MAX_ROW_BYTES = 64 << 20


# --------------------------------------------------------------------------- fields
@dataclass(frozen=True)
class Field:
    column: str
    kind: str  # text | int | double | ts | raw (text, not nulled)
    locators: tuple[str, ...]
    """`m:a.b.c` = metadata path (array form, object form, ClickHouse attribute, and
    the flattened last name); `$.x` = a top-level key; `e:a.b` = a key of the GoTrue
    JSON line held in event_message."""


def _f(column: str, kind: str, *locators: str) -> Field:
    return Field(column, kind, locators)


TABLE_FIELDS: dict[str, tuple[Field, ...]] = {
    "edge_logs": (
        _f("method", "text", "m:request.method"),
        _f("path", "text", "m:request.path"),
        _f("query", "text", "m:request.search"),
        _f("status", "raw", "m:response.status_code", "$.status"),
        _f("latency_ms", "double", "m:response.origin_time"),
        _f("user_id", "text", "m:request.sb.jwt.authorization.payload.subject", "m:request.sb.auth_user"),
        _f("role", "text", "m:request.sb.jwt.authorization.payload.role"),
        _f("session_id", "text", "m:request.sb.jwt.authorization.payload.session_id"),
        _f("client_info", "text", "m:request.headers.x_client_info"),
        _f("user_agent", "text", "m:request.headers.user_agent"),
        _f("ip", "text", "m:request.headers.cf_connecting_ip", "m:request.headers.x_real_ip"),
        _f("cf_ray", "text", "m:response.headers.cf_ray", "m:request.headers.cf_ray"),
        _f("proxy_status", "text", "m:response.headers.proxy_status"),
        _f("x_sb_error_code", "text", "m:response.headers.x_sb_error_code"),
        _f("request_id", "text", "m:response.headers.sb_request_id"),
        _f("host", "text", "m:request.host", "m:request.headers.host"),
        _f("apikey_role", "text", "m:request.sb.jwt.apikey.payload.role"),
    ),
    "postgres_logs": (
        _f("severity", "text", "m:parsed.error_severity", "$.severity_text"),
        _f("sqlstate", "text", "m:parsed.sql_state_code"),
        _f("parsed_message", "text", "m:parsed.message"),
        _f("detail", "text", "m:parsed.detail"),
        _f("hint", "text", "m:parsed.hint"),
        _f("context", "text", "m:parsed.context"),
        _f("statement", "text", "m:parsed.query"),
        _f("user_name", "text", "m:parsed.user_name"),
        _f("database", "text", "m:parsed.database_name"),
        _f("application_name", "text", "m:parsed.application_name"),
        _f("backend_type", "text", "m:parsed.backend_type"),
        _f("session_id", "text", "m:parsed.session_id"),
        _f("pid", "int", "m:parsed.process_id"),
        _f("command_tag", "text", "m:parsed.command_tag"),
        _f("connection_from", "text", "m:parsed.connection_from"),
        _f("query_id", "text", "m:parsed.query_id"),
        _f("parsed_ts", "text", "m:parsed.timestamp"),
    ),
    "auth_logs": (
        _f("level", "text", "m:level", "e:level"),
        _f("msg", "text", "m:msg", "e:msg"),
        _f("method", "text", "m:method", "e:method"),
        _f("gotrue_path", "text", "m:path", "e:path"),
        _f("status", "raw", "m:status", "e:status"),
        _f("duration_ns", "double", "m:duration", "e:duration"),
        _f("error_code", "text", "m:error_code", "e:error_code"),
        _f("error", "text", "m:error", "e:error"),
        _f("request_id", "text", "m:request_id", "e:request_id", "m:auth_audit_event.request_id",
           "e:auth_audit_event.request_id"),
        _f("grant_type", "text", "m:grant_type", "e:grant_type"),
        _f("user_id", "text", "m:auth_event.actor_id", "e:auth_event.actor_id",
           "m:auth_audit_event.actor_id", "e:auth_audit_event.actor_id", "m:user_id", "e:user_id"),
        _f("remote_addr", "text", "m:remote_addr", "e:remote_addr"),
        _f("action", "text", "m:auth_event.action", "e:auth_event.action",
           "m:auth_audit_event.action", "e:auth_audit_event.action", "m:action", "e:action"),
        _f("component", "text", "m:component", "e:component"),
        _f("line_time", "text", "e:time", "m:time"),
    ),
    "realtime_logs": (
        _f("level", "text", "m:level"),
        _f("external_id", "text", "m:external_id"),
        _f("project", "text", "m:project"),
        _f("error_code", "text", "m:error_code"),
        _f("connected", "int", "m:measurements.connected"),
        _f("connected_cluster", "int", "m:measurements.connected_cluster"),
        _f("limit_value", "double", "m:measurements.limit"),
        _f("sum_value", "double", "m:measurements.sum"),
    ),
    "postgrest_logs": (
        _f("level", "text", "m:level"),
        _f("host", "text", "m:host"),
    ),
    "function_edge_logs": (
        _f("level", "text", "m:level"),
        _f("method", "text", "m:request.method"),
        _f("path", "text", "m:request.pathname", "m:request.path"),
        _f("status", "int", "m:response.status_code"),
        _f("execution_time_ms", "double", "m:execution_time_ms"),
        _f("function_id", "text", "m:function_id"),
        _f("execution_id", "text", "m:execution_id"),
        _f("deployment_id", "text", "m:deployment_id"),
    ),
    "supavisor_logs": (
        _f("level", "text", "m:level"),
        _f("project", "text", "m:project"),
        _f("user_name", "text", "m:user"),
        _f("db_name", "text", "m:db_name"),
    ),
}


# The four ways a metadata value reaches a row. A file is nearly always written in one of
# them; the reader extracts that form's paths only and leaves rows of another form to the
# general plan, which tries all four per field (see table_sql).
SHAPES = ("array", "object", "clickhouse", "flat")

# Top-level keys every row may carry whatever its shape (read as v[1..4]).
COMMON_PATHS = ("$.id", "$.timestamp", "$.event_message", "$.identifier")


def _metadata_forms(dotted: str) -> dict[str, str]:
    parts = dotted.split(".")
    return {
        "array": "$.metadata[0]" + "".join(
            "." + _json_key(p) + ("[0]" if i < len(parts) - 1 else "") for i, p in enumerate(parts)
        ),
        "object": "$.metadata" + "".join("." + _json_key(p) for p in parts),
        "clickhouse": "$.log_attributes." + _json_key(dotted),
        "flat": "$." + _json_key(parts[-1]),
    }


def _json_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else '"' + key + '"'


@dataclass(frozen=True)
class TablePlan:
    row_paths: list[str]
    line_paths: list[str]
    exprs: dict[str, str]
    """column -> SQL over `v` (row values) and `g` (event_message line values)."""
    form_slots: dict[str, list[int]]
    """Shaped plans: metadata key -> slots of `v` holding candidates nested under it."""
    absent_slots: list[int]
    """Shaped plans: slots of flattened names that must be missing for the plan to hold."""


def _plan(table: str, shape: str | None = None) -> TablePlan:
    """The extraction plan of a table: every candidate path of every field.

    `shape=None` is the general plan: each metadata locator is tried in array form,
    object form, ClickHouse attribute and flattened name, in that order. A shaped plan
    keeps the one form of `shape`; the flattened name of each locator is then a path that
    must be missing (`absent_slots`), except where it is a key every row carries (e.g.
    `parsed.timestamp` flattens to `timestamp`), which stays a candidate in its place."""
    row_paths: list[str] = []
    line_paths: list[str] = []
    form_slots: dict[str, list[int]] = {}
    absent_slots: list[int] = []

    def slot(paths: list[str], path: str) -> int:
        if path not in paths:
            paths.append(path)
        return paths.index(path) + 1

    exprs: dict[str, str] = {}
    for fld in TABLE_FIELDS[table]:
        refs: list[str] = []
        for loc in fld.locators:
            if loc.startswith("m:"):
                forms = _metadata_forms(loc[2:])
                if shape is None:
                    refs += [f"v[{slot(row_paths, forms[f])}]" for f in SHAPES]
                    continue
                at = slot(row_paths, forms[shape])
                refs.append(f"v[{at}]")
                form_slots.setdefault(loc[2:].split(".")[0], []).append(at)
                if shape != "flat":
                    if forms["flat"] in COMMON_PATHS:
                        refs.append(f"v[{slot(row_paths, forms['flat'])}]")
                    else:
                        absent_slots.append(slot(row_paths, forms["flat"]))
            elif loc.startswith("e:"):
                refs.append(f"g[{slot(line_paths, '$.' + '.'.join(map(_json_key, loc[2:].split('.'))))}]")
            else:
                refs.append(f"v[{slot(row_paths, loc)}]")
        nulled = ["la_nullif_text(" + r + ")" for r in refs]
        value = nulled[0] if len(nulled) == 1 else "coalesce(" + ", ".join(nulled) + ")"
        exprs[fld.column] = {
            "text": value,
            "raw": value,
            "int": "la_int(" + value + ")",
            "double": "la_double(" + value + ")",
            "ts": "la_ts(" + value + ")",
        }[fld.kind]
    return TablePlan(row_paths, line_paths, exprs, form_slots, sorted(set(absent_slots)))


# The normalized columns of each table, over the plan's extracted values `x.<field>`
# and the row's common values (id, ts_raw, event_message, identifier).
_FINAL_SELECT: dict[str, str] = {
    "edge_logs": """
        coalesce(x.method, split_part(x.event_message, ' | ', 1)) AS method,
        coalesce(nullif(split_part(x.path, '?', 1), ''),
                 nullif(regexp_extract(la_em_url(x.event_message), '^[a-z]+://[^/]+(/[^?#]*)', 1), '')) AS path,
        -- Vector's nginx parser (self-hosted Kong events) leaves the query inside the path.
        coalesce(x.query, CASE WHEN strpos(x.path, '?') > 0 THEN substr(x.path, strpos(x.path, '?')) END,
                 nullif(regexp_extract(la_em_url(x.event_message), '(\\?[^#]*)', 1), '')) AS query,
        coalesce(la_int(x.status), la_int(split_part(x.event_message, ' | ', 2))) AS status,
        x.latency_ms, x.user_id, x.role, x.session_id, x.client_info,
        coalesce(x.user_agent, la_em_part(x.event_message, -1, 4)) AS user_agent,
        coalesce(x.ip, la_em_part(x.event_message, 3, 6)) AS ip,
        x.cf_ray,
        coalesce(la_proxy_status_code(x.proxy_status), x.x_sb_error_code) AS error_code,
        x.request_id, x.host, x.apikey_role, x.identifier, x.event_message,
        CASE WHEN la_not_number(x.status) THEN 'status is not a number: ' || x.status END AS _reject
    """,
    "postgres_logs": """
        upper(coalesce(x.severity, nullif(regexp_extract(x.event_message,
            '\\b(LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]?):  ', 1), ''))) AS severity,
        x.sqlstate, false AS sqlstate_inferred,
        -- no code in the export: inferred from the message once the rows are staged
        CASE WHEN x.sqlstate IS NULL AND upper(x.severity) IN ('ERROR', 'FATAL', 'PANIC')
            THEN coalesce(x.parsed_message, CASE WHEN x.parsed_ts IS NULL THEN x.pg_message_tail END, x.event_message)
        END AS _sqlstate_from,
        (coalesce(x.parsed_message, CASE WHEN x.parsed_ts IS NULL THEN x.pg_message_tail END, x.event_message)) AS message,
        x.detail, x.hint, x.context, x.statement, x.user_name, x.database, x.application_name,
        x.backend_type, x.session_id, x.pid,
        la_double(regexp_extract((coalesce(x.parsed_message, CASE WHEN x.parsed_ts IS NULL THEN x.pg_message_tail END, x.event_message)), '^duration: ([0-9.]+) ms', 1)) AS duration_ms,
        x.command_tag, x.connection_from, x.query_id, x.identifier,
        NULL::VARCHAR AS _reject
    """,
    "auth_logs": """
        x.level, x.msg, x.method, la_auth_path(x.gotrue_path) AS path,
        la_int(x.status) AS status, x.duration_ns / 1e6 AS duration_ms, x.error_code, x.error,
        x.request_id, x.grant_type, x.user_id, x.remote_addr, x.action, x.component,
        x.event_message,
        CASE WHEN la_not_number(x.status) THEN 'status is not a number: ' || x.status END AS _reject
    """,
    "realtime_logs": """
        x.level, x.event_message AS message, x.external_id, x.project, x.error_code,
        nullif(regexp_extract(x.event_message,
            'Billing metrics: \\[:realtime, (?::[a-z_]+, )*:([a-z_]+)\\]', 1), '') AS metric,
        x.connected, x.connected_cluster, x.limit_value, x.sum_value,
        NULL::VARCHAR AS _reject
    """,
    "postgrest_logs": """
        coalesce(x.level, CASE WHEN x.access.status <> '' THEN 'info' END) AS level,
        x.event_message AS message,
        CASE WHEN x.access.status <> '' THEN 'access' ELSE 'diagnostic' END AS kind,
        nullif(x.access.method, '') AS method,
        nullif(split_part(x.access.url, '?', 1), '') AS path,
        nullif(regexp_extract(x.access.url, '(\\?.*)$', 1), '') AS query,
        la_int(x.access.status) AS status,
        nullif(nullif(x.access.role, '-'), '') AS role, nullif(x.access.ip, '') AS ip,
        nullif(x.access.ua, '') AS user_agent,
        NULL::VARCHAR AS sqlstate, CASE WHEN coalesce(x.access.status, '') = '' THEN x.event_message END AS _sqlstate_from,
        x.host,
        NULL::VARCHAR AS _reject
    """,
    "function_edge_logs": """
        x.level, x.event_message AS message, x.method, x.path, x.status, x.execution_time_ms,
        x.function_id, x.execution_id, x.deployment_id,
        NULL::VARCHAR AS _reject
    """,
    "supavisor_logs": """
        x.level, x.event_message AS message, x.project, x.user_name, x.db_name,
        NULL::VARCHAR AS _reject
    """,
}

# Extra per-table values computed once per row in the inner select.
_INNER_EXTRA: dict[str, str] = {
    "postgres_logs": """,
        nullif(regexp_extract(j->>'event_message',
            '\\b(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]?|STATEMENT|DETAIL|HINT|CONTEXT):  (.*)$', 1), '') AS pg_message_tail""",
    "postgrest_logs": """,
        regexp_extract(j->>'event_message',
            '^(\\S+) - (\\S+) \\[([^\\]]+)\\] "(\\S+) (\\S+)[^"]*" (\\d{3}) (\\S+) "([^"]*)" "([^"]*)"',
            ['ip', 'role', 'time', 'method', 'url', 'status', 'bytes', 'referer', 'ua']) AS access""",
}


# --------------------------------------------------------------------------- routing
# Which table a row belongs to, from the keys it carries; first match wins. Every key
# test reads one slot of a single json_extract_string call (one parse per row).
_META_PROBES = (
    "parsed", "execution_time_ms", "function_id", "execution_id", "msg", "component",
    "auth_event", "auth_audit_event", "grant_type", "request", "response", "measurements",
    "external_id", "context", "instance_id", "db_name", "host",
)
_FLAT_PROBES = (
    "source", "log_attributes", "event_message", "error_severity", "sql_state_code",
    "execution_time_ms", "function_id", "execution_id", "msg", "status_code", "origin_time",
    "search", "proxy_status",
)
PROBE_PATHS = [f"$.metadata[0].{k}" for k in _META_PROBES] + [
    f"$.metadata.{k}" for k in _META_PROBES
] + [f"$.{k}" for k in _FLAT_PROBES]


def _general_probe(path: str) -> str:
    return f"p[{PROBE_PATHS.index(path) + 1}]"


# After ClickHouse rows (whose `source` names the table), first match wins: the table, the
# metadata keys and flattened names that send a row there, and a test of event_message
# (`{}` stands for it).
_ROUTES: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str | None], ...] = (
    ("postgres_logs", ("parsed",), ("error_severity", "sql_state_code"), None),
    ("function_edge_logs", ("execution_time_ms", "function_id", "execution_id"),
     ("execution_time_ms", "function_id", "execution_id"), None),
    ("auth_logs", ("msg", "component", "auth_event", "auth_audit_event", "grant_type"), ("msg",),
     "regexp_matches({}, '^\\{.*\"(msg|component)\":')"),
    ("edge_logs", ("request", "response"), ("status_code", "origin_time", "search", "proxy_status"),
     "regexp_matches({}, '^[A-Z]+ \\| [0-9]{3} \\| ')"),
    ("realtime_logs", ("measurements", "external_id"), (), "starts_with({}, 'Billing metrics:')"),
    ("supavisor_logs", ("context", "instance_id", "db_name"), (), None),
    ("postgrest_logs", ("host",), (), None),
)


def _keys_routed_before(table: str) -> set[str]:
    """Metadata keys whose presence sends a row to a table tested before `table`."""
    keys: set[str] = set()
    for routed, meta_keys, _flat_keys, _test in _ROUTES:
        if routed == table:
            break
        keys.update(meta_keys)
    return keys


def route_sql(probe: Callable[[str], str] = _general_probe) -> str:
    """The table of a row (NULL: cannot tell), given `probe(path)`: the SQL value of each
    path of PROBE_PATHS (only ever tested for NULL, except `source` and `event_message`)."""
    message = "coalesce(" + probe("$.event_message") + ", '')"
    sql = (
        "CASE WHEN $forced IS NOT NULL THEN $forced"
        " WHEN " + probe("$.log_attributes") + " IS NOT NULL AND list_contains($tables, "
        + probe("$.source") + ")  THEN " + probe("$.source")
    )
    for table, meta_keys, flat_keys, test in _ROUTES:
        tests = [
            f"{probe('$.metadata[0].' + k)} IS NOT NULL OR {probe('$.metadata.' + k)} IS NOT NULL"
            for k in meta_keys
        ] + [f"{probe('$.' + k)} IS NOT NULL" for k in flat_keys]
        if test:
            tests.append(test.replace("{}", message))
        sql += " WHEN " + " OR ".join(tests) + "  THEN '" + table + "'"
    return sql + " ELSE NULL END"


ROUTE_SQL = route_sql()

# The shape of a sampled row, from its probes and `j` (chooses the file's plan only; each
# row is checked against the plan's shape as it is read).
SHAPE_SQL = (
    "CASE WHEN " + _general_probe("$.log_attributes") + " IS NOT NULL THEN 'clickhouse'"
    " WHEN json_type(j, '$.metadata') = 'ARRAY' THEN 'array'"
    " WHEN json_type(j, '$.metadata') = 'OBJECT' THEN 'object' ELSE 'flat' END"
)


def table_sql(
    table: str, rows_sql: str | None = None, shape: str | None = None
) -> tuple[str, dict[str, object]]:
    """SELECT yielding the staged rows of one table (see core.stage).

    Without `rows_sql` the rows are those routed to `table` in `_la_raw`, read with the
    general plan. With it (a reader yielding `_line, j`), every row of the file is read in
    this one pass: the routing probes ride along in the same extraction, and rows the pass
    does not take come out marked `_defer` for the caller to route (stage(..., defer=True)).

    `shape` (one of SHAPES) narrows the one pass to that shape's paths: a row is taken
    only when the narrowed plan provably reads it as the general plan would — its
    metadata has that form (a value under it is present), no flattened name of a field
    is present, and it routes to `table` — and is deferred otherwise. Probes of keys that
    hold the table's own fields (`request`, `parsed`, the ClickHouse `log_attributes`) are
    not extracted as whole JSON texts but witnessed by a present value beneath them, and
    a row lacking such a value is deferred too."""
    plan = _plan(table, shape if rows_sql is not None else None)
    row_paths = [*COMMON_PATHS, *plan.row_paths]
    shift = len(COMMON_PATHS)  # the common values come first in `v`

    def shifted(expr: str) -> str:
        return re.sub(r"\bv\[(\d+)\]", lambda m: f"v[{int(m.group(1)) + shift}]", expr)

    field_cols = ",\n        ".join(shifted(e) + " AS " + quote_ident(c) for c, e in plan.exprs.items())
    extra = _INNER_EXTRA.get(table, "")
    line_values = (
        "CASE WHEN json_valid(j->>'event_message') THEN json_extract_string(j->>'event_message', $line_paths) END"
        if plan.line_paths
        else "NULL::VARCHAR[]"
    )
    ts_expr = "la_ts(coalesce(la_nullif_text(v[2])"
    if table == "auth_logs":
        ts_expr += ", " + shifted(plan.exprs["line_time"])
    if table == "postgres_logs":
        ts_expr += ", " + shifted(plan.exprs["parsed_ts"])
    ts_expr += "))"
    params: dict[str, object] = {"table": table}
    if rows_sql is None:
        source = (
            "SELECT _line, j, json_extract_string(j, $row_paths) AS v, " + line_values
            + " AS g, $table AS _target FROM _la_raw WHERE _target = $table"
        )
        defer = ""
    else:
        source = (
            "SELECT *, " + _taken_sql(table, plan, shape, row_paths) + " AS _taken FROM ("
            "SELECT _line, j, json_extract_string(j, $row_paths) AS v, " + line_values
            + " AS g FROM (" + rows_sql + "))"
        )
        defer = ", NOT x._taken AS _defer"
        params["tables"] = list(HOSTED_TABLES)
    inner = (
        "SELECT _line, j, v, g" + ("" if rows_sql is None else ", _taken") + extra + ",\n"
        "        coalesce(la_nullif_text(v[1]), 'h:' || md5(CAST(j AS VARCHAR))) AS id,\n"
        "        " + ts_expr + " AS ts,\n"
        "        la_nullif_text(v[3]) AS event_message,\n"
        "        la_nullif_text(v[4]) AS identifier,\n"
        "        " + field_cols + "\n"
        "    FROM (" + source + ")"
    )
    final = _FINAL_SELECT[table]
    sql = (
        "SELECT x._line, CAST(x.j AS VARCHAR) AS _raw, x.id, x.ts" + defer + ",\n"
        + final + "\nFROM (" + inner + ") x"
    )
    params["row_paths"] = row_paths
    if plan.line_paths:
        params["line_paths"] = plan.line_paths
    return sql, params


def _taken_sql(table: str, plan: TablePlan, shape: str | None, row_paths: list[str]) -> str:
    """Whether the one pass takes a row (see table_sql); appends the paths it needs to
    `row_paths` (whose slots are already shifted past the common values)."""

    def slot(path: str) -> int:
        if path not in row_paths:
            row_paths.append(path)
        return row_paths.index(path) + 1

    shift = len(COMMON_PATHS)

    def present(slots: list[int]) -> str:
        return "(" + " OR ".join(f"v[{i + shift}] IS NOT NULL" for i in slots) + ")"

    # A witnessed probe reads as present only when a value beneath it is. Where it can
    # only help a row to `table` (its key is tested with the table's own, or after),
    # missing it at worst defers the row; where it would send the row elsewhere (a key
    # of a table tested before, the ClickHouse `log_attributes`), the witness must hold.
    witnessed: dict[str, str] = {}
    required: list[str] = []
    if shape in ("array", "object"):
        prefix = "$.metadata[0]." if shape == "array" else "$.metadata."
        before = _keys_routed_before(table)
        for key, slots in plan.form_slots.items():
            probe = prefix + key
            if probe in PROBE_PATHS and probe not in row_paths:
                witnessed[probe] = present(slots)
                if key in before:
                    required.append(witnessed[probe])
    elif shape == "clickhouse" and plan.form_slots:
        witnessed["$.log_attributes"] = present([i for s in plan.form_slots.values() for i in s])
        required.append(witnessed["$.log_attributes"])

    # Metadata probes of another form are missing from every row the pass takes (its
    # metadata has this form, or none at all): they need no extraction.
    other_forms = {
        "array": ("$.metadata.",), "object": ("$.metadata[0].",),
        "clickhouse": ("$.metadata.", "$.metadata[0]."), "flat": ("$.metadata.", "$.metadata[0]."),
    }.get(shape or "", ())

    def probe(path: str) -> str:
        if path in witnessed:
            return "(CASE WHEN " + witnessed[path] + " THEN true END)"
        if path.startswith(other_forms) and path not in row_paths:
            return "NULL"
        return f"v[{slot(path)}]"

    conditions = ["j IS NOT NULL", "(" + route_sql(probe) + ") = $table", *required]
    if shape in ("array", "object"):
        conditions.append(present([i for s in plan.form_slots.values() for i in s]))
        conditions.append(probe("$.log_attributes") + " IS NULL")
    elif shape == "clickhouse":
        conditions.append(f"v[{slot('$.metadata')}] IS NULL")
    elif shape == "flat":
        conditions.append(f"v[{slot('$.metadata')}] IS NULL")
        conditions.append(probe("$.log_attributes") + " IS NULL")
    conditions += [f"v[{i + shift}] IS NULL" for i in plan.absent_slots]
    return "coalesce(" + " AND ".join(conditions) + ", false)"


def _route_params(forced: str | None) -> dict[str, object]:
    return {"forced": forced, "tables": list(HOSTED_TABLES), "probes": PROBE_PATHS}


def _materialize(ctx: FileContext, reader_sql: str, params: dict[str, object]) -> None:
    ctx.execute(
        "CREATE OR REPLACE TEMP TABLE _la_raw AS "
        "SELECT _line, j, " + ROUTE_SQL + " AS _target FROM ("
        "  SELECT _line, j, json_extract_string(j, $probes) AS p"
        "  FROM (" + reader_sql + ") WHERE j IS NOT NULL"
        ")",
        {**_route_params(_forced(ctx)), **params},
    )


def _forced(ctx: FileContext) -> str | None:
    return ctx.options.source if ctx.options.source in HOSTED_TABLES else None


def _primary_plan(
    ctx: FileContext, reader_sql: str, params: dict[str, object]
) -> tuple[str, str] | None:
    """The table most of the file's first rows belong to, and the shape most of those
    rows have."""
    row = ctx.execute(
        "SELECT _target, _shape FROM (SELECT " + ROUTE_SQL + " AS _target, " + SHAPE_SQL
        + " AS _shape FROM ("
        "  SELECT j, json_extract_string(j, $probes) AS p FROM (" + reader_sql + ") "
        "  WHERE j IS NOT NULL LIMIT 2000)) "
        "WHERE _target IS NOT NULL GROUP BY 1, 2 "
        "ORDER BY sum(count(*)) OVER (PARTITION BY _target) DESC, count(*) DESC, 1, 2 LIMIT 1",
        {**_route_params(_forced(ctx)), **params},
    ).fetchone()
    return (row[0], row[1]) if row else None


def _load(ctx: FileContext, objects_sql: str, params: dict[str, object], first_line: int = 1) -> None:
    """Read the file once for the table and shape most rows have; route the rest after.

    `objects_sql` yields the file's rows as `j` in file order; the first is line
    `first_line` (a CSV's header is line 1)."""
    numbered = "SELECT row_number() OVER () + $line_offset AS _line, j FROM (" + objects_sql + ")"
    numbered_params = {**params, "line_offset": first_line - 1}
    primary = _primary_plan(ctx, numbered, numbered_params)
    if primary is None:
        _materialize(ctx, numbered, numbered_params)
        _load_rows(ctx)
    else:
        table, shape = primary
        # The one pass runs without a window, on every thread; the stage numbers its rows
        # by the order they are stored in, which insertion order keeps.
        in_file_order = "SELECT NULL::BIGINT AS _line, j FROM (" + objects_sql + ")"
        sql, table_params = table_sql(table, in_file_order, shape)
        (in_order,) = ctx.execute("SELECT current_setting('preserve_insertion_order')").fetchone()  # type: ignore[misc]
        if not in_order:
            ctx.execute("SET preserve_insertion_order = true")
        try:
            ctx.stage(table, sql, {**params, **table_params, "forced": _forced(ctx)}, defer=True,
                      lines_from=first_line)
        finally:
            if not in_order:
                ctx.execute("SET preserve_insertion_order = false")
        (others,) = ctx.execute("SELECT count(*) FROM _la_deferred").fetchone()  # type: ignore[misc]
        if others:
            _materialize(ctx, "SELECT _line, CAST(_raw AS JSON) AS j FROM _la_deferred", {})
            _load_rows(ctx)
        ctx.execute("DROP TABLE _la_deferred")
    if "auth_logs" in ctx.result.tables:
        carry_sibling_errors(ctx)
    if ctx.result.rows == 0 and ctx.result.rejected == 0 and ctx.result.duplicates == 0 and ctx.result.merged == 0:
        ctx.note("no log rows in this export")


def _load_rows(ctx: FileContext) -> None:
    targets = [
        r[0]
        for r in ctx.execute(
            "SELECT DISTINCT _target FROM _la_raw WHERE _target IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    for table in targets:
        sql, params = table_sql(table)
        ctx.stage(table, sql, params)
    ctx.reject_rows(
        "SELECT _line, 'cannot tell which log source this row belongs to "
        "(pass --source TABLE)' AS _reject, CAST(j AS VARCHAR) AS _raw "
        "FROM _la_raw WHERE _target IS NULL"
    )
    ctx.execute("DROP TABLE _la_raw")


# --------------------------------------------------------------------------- readers
def _load_json_array(ctx: FileContext) -> None:
    _load(
        ctx,
        "SELECT json AS j FROM read_json_objects("
        "$path, format = 'array', maximum_object_size = $max_size)",
        {"path": ctx.sql_path, "max_size": MAX_ROW_BYTES},
    )


def _load_ndjson(ctx: FileContext) -> None:
    _load(
        ctx,
        "SELECT json AS j FROM read_json_objects("
        "$path, format = 'newline_delimited', maximum_object_size = $max_size)",
        {"path": ctx.sql_path, "max_size": MAX_ROW_BYTES},
    )


def _load_api_envelope(ctx: FileContext) -> None:
    envelope = (
        "SELECT json AS env FROM read_json_objects($path, format = 'auto', "
        "maximum_object_size = $max_size)"
    )
    # The envelope is one JSON object: the reader must take the whole file at once.
    params = {"path": ctx.sql_path, "max_size": max(MAX_ROW_BYTES, ctx.path.stat().st_size + 1)}
    errors = ctx.execute(
        "SELECT CAST(env->'error' AS VARCHAR) FROM (" + envelope + ") "
        "WHERE json_type(env, '$.error') NOT IN ('NULL') AND env->>'error' <> ''",
        params,
    ).fetchall()
    if errors:
        text = errors[0][0]
        raise ctx.fail(
            "the Management API returned an error instead of rows: " + text[:300],
            hint="re-run the request (smaller time range, or later if rate limited: HTTP 429)",
        )
    _load(
        ctx,
        "SELECT unnest(json_extract(env, '$.result[*]')) AS j FROM (" + envelope + ")",
        params,
    )


def _load_csv(ctx: FileContext) -> None:
    header = ctx.execute(
        "SELECT * FROM read_csv($path, header = true, all_varchar = true, delim = ',', "
        "quote = '\"', escape = '\"', strict_mode = true) LIMIT 0",
        {"path": ctx.sql_path},
    ).description
    columns = [d[0] for d in header]
    pairs = ", ".join(
        "'" + c.replace("'", "''") + "', la_csv_cell(" + quote_ident(c) + ")" for c in columns
    )
    ctx.execute(
        "CREATE OR REPLACE TEMP MACRO la_csv_cell(c) AS ("
        " CASE WHEN c IS NULL OR c = 'null' THEN NULL"
        " WHEN regexp_matches(c, '^\\s*[\\[{]') THEN coalesce(try_cast(c AS JSON), to_json(c))"
        " ELSE to_json(c) END)"
    )
    _load(
        ctx,
        "SELECT json_object(" + pairs + ") AS j "
        "FROM read_csv($path, header = true, all_varchar = true, delim = ',', quote = '\"', "
        "escape = '\"', strict_mode = true)",
        {"path": ctx.sql_path},
        first_line=2,
    )


# --------------------------------------------------------------------------- sniffing
def _hosted_keys_score(keys: set[str]) -> int:
    if keys & _FOREIGN_KEYS:
        return 0
    if keys & _ROW_KEYS:
        return 80
    if "timestamp" in keys and keys & _PARTIAL_KEYS:
        return 60
    return 0


def _sniff_array(sample: Sample) -> int:
    if sample.first_char != "[":
        return 0
    return _hosted_keys_score(first_object_keys(sample))


def _sniff_ndjson(sample: Sample) -> int:
    if sample.first_char != "{" or not sample.lines:
        return 0
    try:
        first = json.loads(sample.lines[0])
    except json.JSONDecodeError:
        return 0
    if not isinstance(first, dict) or "result" in first and "error" in first:
        return 0
    return _hosted_keys_score(set(first))


def _sniff_envelope(sample: Sample) -> int:
    if sample.first_char != "{":
        return 0
    text = sample.text.lstrip("\ufeff \t\r\n")
    # The envelope's first key is "result", or "error" followed by "result"; an API row
    # whose first selected column happens to be `error` continues with other keys.
    if re.match(r'\{\s*"result"\s*:', text) or re.match(
        r'\{\s*"error"\s*:\s*(null|"(?:[^"\\]|\\.)*"|\{.*?\})\s*,\s*"result"\s*:', text, flags=re.S
    ):
        return 90
    keys = first_object_keys(sample)
    if "result" in keys and not keys & (_ROW_KEYS | {"id", "timestamp"}):
        return 90
    return 0


def _sniff_csv(sample: Sample) -> int:
    if not sample.lines or sample.first_char in "[{":
        return 0
    try:
        header = next(csv.reader(io.StringIO(sample.lines[0])))
    except (csv.Error, StopIteration):
        return 0
    names = {h.strip() for h in header}
    if len(header) < 2:
        return 0
    if names & _ROW_KEYS or ("timestamp" in names and names & (_PARTIAL_KEYS | {"id", "path", "method", "status"})):
        return 70
    return 0


register(LogFormat(
    name="supabase-json",
    description="Supabase Logs Explorer 'Download JSON' (array of rows) or a log-drain batch",
    sniff=_sniff_array, load=_load_json_array, tables=HOSTED_TABLES,
    example="loganalyze ingest supabase-logs-<ref>.json",
))
register(LogFormat(
    name="supabase-ndjson",
    description="Supabase log rows, one JSON object per line (drains, API rows)",
    sniff=_sniff_ndjson, load=_load_ndjson, tables=HOSTED_TABLES,
    example="loganalyze ingest drain-2026-11-20.ndjson",
))
register(LogFormat(
    name="supabase-api",
    description="Management API logs response {\"result\": [...], \"error\": ...} (logs.all and the newer logs endpoint)",
    sniff=_sniff_envelope, load=_load_api_envelope, tables=HOSTED_TABLES,
    example="loganalyze ingest logs-all-page-*.json",
))
register(LogFormat(
    name="supabase-csv",
    description="Supabase Logs Explorer 'Download CSV' (nested values as JSON text in cells)",
    sniff=_sniff_csv, load=_load_csv, tables=HOSTED_TABLES,
    example="loganalyze ingest supabase-logs-<ref>.csv",
))
