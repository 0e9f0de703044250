"""Self-hosted GoTrue (Supabase Auth) container output: logrus JSON, one object per line.

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
- `request_id` is not unique per line, so ids are derived from the line itself.
"""

from __future__ import annotations

import json

from .core import FileContext, LogFormat, register
from .files import Sample
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
    "action": "VARCHAR",
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
       la_nullif_text(g.error) AS error,
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
            FROM (""" + SPLIT_LINES_SQL + """)
        )
    )
)
"""

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
    numbering = parse_lines(ctx, _PARSE_SQL, {"path": ctx.sql_path, "prefix_re": TRANSPORT_PREFIX_RE})
    ctx.stage("auth_logs", _STAGE_SQL, numbering, unique_ids=True)
    drop_parsed(ctx)


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


def _sniff(sample: Sample) -> int:
    lines = sample.lines[:100]
    if not lines:
        return 0
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
