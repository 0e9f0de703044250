"""Self-hosted GoTrue (Supabase Auth) container output: logrus JSON, one object per line,
or the same objects pretty-printed across lines (`docker logs auth | jq .`).

- `request completed` lines carry `status`, `duration` (nanoseconds, stored as ms) and,
  from v2.194.0, the `error`; up to v2.193.x an errored request wrote the error on a
  line of its own before the `request completed` line. That earlier error text is copied
  onto its `request completed` line (same `request_id`), so both versions give one
  request row with status and error; the separate error line is kept as its own row
  (no status), as GoTrue wrote it.
- GoTrue logs paths without the `/auth/v1` prefix the gateway strips; the public path is
  stored (`/user` → `/auth/v1/user`) so detectors see one path in every source.
- Audit lines (`auth_audit_event`, `auth_event`) and metering lines (`action`, `user_id`)
  fill `action` and `user_id`.
- A recovered panic's text (`panic`, no `error`) is kept as the row's error.
- `request_id` is not unique per line, so ids are derived from the line itself.
"""

from __future__ import annotations

import json

from .core import FileContext, LogFormat, register
from .files import Sample, leading_json_values
from .postgrest import strip_transport
from .textlines import (
    LINE_ID_SQL,
    LINE_NUMBER_SQL,
    NONBLANK_SQL,
    REPEATS_CTE,
    SPLIT_LINES_SQL,
    TRANSPORT_PREFIX_RE,
    drop_parsed,
    parse_lines,
    timestamp_sql,
)

# One JSON parse per line into the fields we read (all as text; numbers converted below).
GOTRUE_FIELDS = json.dumps({
    "time": "VARCHAR", "level": "VARCHAR", "msg": "VARCHAR", "component": "VARCHAR",
    "method": "VARCHAR", "path": "VARCHAR", "status": "VARCHAR", "duration": "VARCHAR",
    "error_code": "VARCHAR", "error": "VARCHAR", "request_id": "VARCHAR",
    "grant_type": "VARCHAR", "remote_addr": "VARCHAR", "user_id": "VARCHAR",
    "action": "VARCHAR", "panic": "VARCHAR",
    "auth_event": {"action": "VARCHAR", "actor_id": "VARCHAR"},
    "auth_audit_event": {"action": "VARCHAR", "actor_id": "VARCHAR", "request_id": "VARCHAR"},
})

# One row per line of the file: the JSON parsed once, every column but the id and the
# carried-over error (see `_STAGE_SQL`).
_PARSE_SQL = """
SELECT transport, body, _blank, hash(body) AS _key, ts, request_id, status, error_line_error,
       la_nullif_text(g.level) AS level,
       la_nullif_text(g.msg) AS msg,
       la_nullif_text(g.method) AS method,
       la_auth_path(la_nullif_text(g.path)) AS path,
       la_double(g.duration) / 1e6 AS duration_ms,
       la_nullif_text(g.error_code) AS error_code,
       -- a recovered panic logs its text in `panic` (and no `error`)
       coalesce(la_nullif_text(g.error), 'panic: ' || la_nullif_text(g.panic)) AS error,
       la_nullif_text(g.grant_type) AS grant_type,
       coalesce(la_nullif_text(g.auth_event.actor_id), la_nullif_text(g.auth_audit_event.actor_id),
                la_nullif_text(g.user_id)) AS user_id,
       la_nullif_text(g.remote_addr) AS remote_addr,
       coalesce(la_nullif_text(g.auth_event.action), la_nullif_text(g.auth_audit_event.action),
                la_nullif_text(g.action)) AS action,
       la_nullif_text(g.component) AS component,
       CASE WHEN g IS NULL THEN 'not a GoTrue JSON line'
            WHEN la_nullif_text(g.time) IS NULL AND ts IS NULL THEN 'GoTrue line without "time"'
            WHEN ts IS NULL THEN 'unreadable time: ' || g.time
            WHEN la_not_number(g.status) THEN 'status is not a number: ' || g.status
            WHEN la_not_number(g.duration) THEN 'duration is not a number: ' || g.duration
       END AS _reject
FROM (
    SELECT *,
           """ + timestamp_sql("time_text") + """ AS ts,
           coalesce(la_nullif_text(g.request_id), la_nullif_text(g.auth_audit_event.request_id))
               AS request_id,
           la_int(g.status) AS status,
           -- the error text of a pre-2.194 error line (no status, not `request completed`)
           CASE WHEN g.status IS NULL AND g.msg IS DISTINCT FROM 'request completed'
                THEN la_nullif_text(g.error) END AS error_line_error
    FROM (
        SELECT *, coalesce(la_nullif_text(g.time), nullif(docker_time, '')) AS time_text
        FROM (
            SELECT *, """ + NONBLANK_SQL + """ IS NOT TRUE AS _blank,
                   -- a line that is no JSON object parses to NULL (rejected below)
                   CASE WHEN starts_with(ltrim(body), '{')
                        THEN try(json_transform(body, '""" + GOTRUE_FIELDS + """')) END AS g
            FROM (__LINES__)
        )
    )
)
"""

# Pretty-printed objects (`docker logs auth | jq .`, or `jq -s .` arrays): one row per
# object, minified back to the line GoTrue wrote (so it gets that line's id, and the
# pretty and the raw form of one log add nothing to each other).
_PRETTY_OBJECTS_SQL = (
    "SELECT '' AS transport, '' AS docker_time, CAST(json(json) AS VARCHAR) AS body "
    "FROM read_json_objects($path, format = $json_format, maximum_object_size = 67108864)"
)

# The rows, with ids and the error of a pre-2.194 error line copied onto its `request
# completed` line: a window over the few requests that have such a line, not the file.
_STAGE_SQL = """
WITH """ + REPEATS_CTE + """,
carried AS (
    SELECT _row, last_value(error_line_error IGNORE NULLS) OVER (
               PARTITION BY request_id ORDER BY _row
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS carried_error,
           msg
    FROM (SELECT rowid AS _row, request_id, error_line_error, msg FROM _la_parsed
          WHERE request_id IN (SELECT request_id FROM _la_parsed WHERE error_line_error IS NOT NULL))
)
SELECT """ + LINE_NUMBER_SQL + """ AS _line, p.transport || p.body AS _raw,
       'gotrue:' || """ + LINE_ID_SQL + """ AS id,
       p.ts, p.level, p.msg, p.method, p.path, p.status, p.duration_ms, p.error_code,
       coalesce(p.error, CASE WHEN c.msg = 'request completed' THEN c.carried_error END) AS error,
       p.request_id, p.grant_type, p.user_id, p.remote_addr, p.action, p.component,
       p.body AS event_message, p._reject
FROM _la_parsed p
LEFT JOIN repeats r ON r._row = p.rowid
LEFT JOIN carried c ON c._row = p.rowid
WHERE NOT p._blank
"""


def _load(ctx: FileContext) -> None:
    params: dict[str, object] = {"path": ctx.sql_path}
    if _pretty(ctx.sample):
        ctx.note("pretty-printed JSON objects (jq): a row's line is its object's number")
        sql = _PARSE_SQL.replace("__LINES__", _PRETTY_OBJECTS_SQL)
        params["json_format"] = "array" if ctx.sample.first_char == "[" else "unstructured"
    else:
        sql = _PARSE_SQL.replace("__LINES__", SPLIT_LINES_SQL)
        params["prefix_re"] = TRANSPORT_PREFIX_RE
    numbering = parse_lines(ctx, sql, params)
    ctx.stage("auth_logs", _STAGE_SQL, numbering, unique_ids=True)
    drop_parsed(ctx)
    carry_sibling_errors(ctx)


# A failed request's error text on its `request completed` row, from the sibling row
# of the same request that holds it (GoTrue before v2.194 wrote the error on a row of
# its own; hosted exports list both rows, newest first, maybe on different pages or in
# different files). Only requests this file touched are looked at.
_SIBLING_ERRORS_SQL = """
UPDATE auth_logs AS t SET error = s.error
FROM (
    SELECT request_id, min_by(error, ts) AS error
    FROM auth_logs
    WHERE status IS NULL AND msg IS DISTINCT FROM 'request completed' AND error IS NOT NULL
      AND request_id IN (SELECT request_id FROM auth_logs WHERE file_id = $file_id AND request_id IS NOT NULL)
    GROUP BY request_id
) AS s
WHERE t.request_id = s.request_id AND t.error IS NULL AND t.msg = 'request completed' AND t.status >= 400
"""


def carry_sibling_errors(ctx: FileContext) -> int:
    """Copy the error text of sibling rows onto the `request completed` rows of failed
    requests that lack it; returns how many rows gained it (noted in the summary)."""
    added = ctx.result.tables.get("auth_logs")
    if added is None or not (added.rows or added.merged):
        return 0  # nothing new from this file (a re-ingest): nothing new to pair
    (filled,) = ctx.execute(_SIBLING_ERRORS_SQL, {"file_id": ctx.file_id}).fetchone()  # type: ignore[misc]
    if filled:
        ctx.note(f"{filled} failed request row(s) took their error text from a sibling row of the same request")
    return int(filled)


# Keys that mark a JSON line as someone else's: hosted/Logflare rows, Vercel entries.
_FOREIGN_KEYS = {
    "event_message", "metadata", "log_attributes", "deploymentId", "projectId", "proxy",
    "requestMethod", "timestampInMs", "rowId", "TimeUTC", "jobid", "runid",
}


def is_gotrue_object(obj: object) -> bool:
    if not isinstance(obj, dict) or obj.keys() & _FOREIGN_KEYS:
        return False
    keys = obj.keys()
    # logrus always writes level, msg and time; GoTrue's own lines add component,
    # audit or metering fields.
    return {"level", "msg"} <= keys and bool(keys & {"time", "component", "auth_audit_event", "metering"})


def _pretty(sample: Sample) -> bool:
    """Whether the file holds JSON objects spread over lines rather than one a line."""
    if sample.first_char == "[":
        return True
    first = sample.lines[0].strip() if sample.lines else ""
    return first.startswith("{") and not first.endswith("}")


def _sniff(sample: Sample) -> int:
    lines = sample.lines[:100]
    if not lines:
        return 0
    if _pretty(sample):
        objects = leading_json_values(sample, 200)
        return 85 if objects and all(is_gotrue_object(o) for o in objects) else 0
    hits = 0
    for line in lines:
        body = strip_transport(line)
        if not body.startswith("{"):
            continue
        try:
            hits += is_gotrue_object(json.loads(body))
        except json.JSONDecodeError:
            continue
    share = hits / len(lines)
    if share >= 0.5:
        return 85
    return 40 if hits else 0


register(LogFormat(
    name="gotrue",
    description="Self-hosted GoTrue (Auth) container output: JSON lines (request, error, "
    "audit and metering lines; both the two-line and the consolidated error form)",
    sniff=_sniff, load=_load, tables=("auth_logs",),
    example="docker logs supabase-auth > auth.log 2>&1 && loganalyze ingest auth.log",
))
