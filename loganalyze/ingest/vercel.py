"""Vercel function and request logs, into vercel_logs. Three shapes, one reader:

- log drains (JSON array per delivery, or NDJSON): `id`, `timestamp` (ms), `requestId`,
  `statusCode`, `type` (`stdout`, `stderr`, `report`, ...), `source`, `level`, `message`,
  `path` (the function), `proxy.{method, host, path (with query), statusCode,
  userAgent[], region, clientIp}`;
- `vercel logs --json`: request-log entries (`id`, `timestamp`, `requestMethod`,
  `requestPath`, `responseStatusCode`, `domain`; a request with several console lines
  becomes entries `<requestId>`, `<requestId>_1`, ...) and `--follow` runtime lines
  (`rowId`, `timestampInMs`, ...);
- the dashboard export (`TimeUTC`, `timestampInMs`, `requestPath` = host + path,
  `requestQueryString`, `responseStatusCode`, `requestId`, `function`, `level`, `message`).

Request rows and console lines: each invocation should count once wherever a status is
counted. Drains mark console output themselves (`type` stdout/stderr). For the two
shapes that repeat the request on every console line (CLI request logs and the dashboard
export), the first entry of a request keeps the request's type and the later entries of
the same request are typed `stdout` (`stderr` when their level is error/fatal).

`duration_ms` comes from the message where Vercel reports one (the `report` line of a
drain, `Duration: 123.45 ms`); none of these shapes has a duration field. Paths are the
request path without host or query (`/api/presence/ping`); `query` keeps its `?`.
"""

from __future__ import annotations

import json
from typing import Any

from .core import FileContext, LogFormat, register
from .files import Sample, first_object_keys
from .textlines import LINE_NUMBER_SQL, READ_LINES_SQL, TEXT_LINES_SQL, drop_parsed, parse_lines

MAX_OBJECT_BYTES = 1 << 28

VERCEL_FIELDS = json.dumps({
    "id": "VARCHAR", "rowId": "VARCHAR", "timestamp": "VARCHAR", "timestampInMs": "VARCHAR",
    "TimeUTC": "VARCHAR", "requestId": "VARCHAR", "requestMethod": "VARCHAR",
    "requestPath": "VARCHAR", "requestQueryString": "VARCHAR", "responseStatusCode": "VARCHAR",
    "requestUserAgent": "VARCHAR", "statusCode": "VARCHAR", "path": "VARCHAR",
    "host": "VARCHAR", "domain": "VARCHAR", "level": "VARCHAR", "message": "VARCHAR",
    "source": "VARCHAR", "type": "VARCHAR", "executionRegion": "VARCHAR",
    "proxy": {
        "timestamp": "VARCHAR", "method": "VARCHAR", "host": "VARCHAR", "path": "VARCHAR",
        "statusCode": "VARCHAR",
        "userAgent": "VARCHAR", "region": "VARCHAR",
    },
})

def parsed_docs_sql(fields: str, alias: str) -> str:
    """A `parsed` CTE over `docs`: each JSON object parsed once into the struct `alias`
    of the known `fields` (NULL for text that is not a JSON object). Both arguments are
    this package's constants."""
    return (
        "parsed AS (SELECT _line, doc, CASE WHEN json_valid(doc) AND starts_with(ltrim(doc), '{') "
        "THEN json_transform(doc, '" + fields + "') END AS " + alias + " FROM docs)"
    )


# The documents of the file, one row each, in file order (no numbering: `_la_parsed`
# numbers them by rowid).
_UNNUMBERED_DOCS = {
    "array": "SELECT CAST(json AS VARCHAR) AS doc FROM read_json_objects($path, format = 'array', "
    "maximum_object_size = $max_size)",
    "unstructured": "SELECT CAST(json AS VARCHAR) AS doc FROM read_json_objects($path, "
    "format = 'unstructured', maximum_object_size = $max_size)",
    "lines": "SELECT line AS doc FROM " + READ_LINES_SQL,
}

# One row per document: parsed once, every column but the id and the type of later
# entries of a repeated request (see `_STAGE_SQL`). The document's text is kept only
# where it may be needed: rejected rows, rows without an id of their own.
_PARSE_SQL = """
SELECT _blank, ts, request_id, method, path, query, status, duration_ms, level, message, source,
       type, host, user_agent, region, _reject, own_id, export_request, export_order, cli_repeat,
       CASE WHEN own_id IS NULL OR _reject IS NOT NULL OR ts IS NULL THEN doc END AS doc
FROM (
    SELECT *,
           split_part(rel_url, '?', 1) AS path,
           coalesce(nullif(regexp_extract(rel_url, '(\\?.*)$', 1), ''),
                    CASE WHEN la_nullif_text(v.requestQueryString) IS NOT NULL
                         THEN CASE WHEN starts_with(v.requestQueryString, '?') THEN '' ELSE '?' END
                              || v.requestQueryString END) AS query,
           la_int(status_text) AS status,
           CASE WHEN contains(v.message, 'Duration: ')
                THEN la_double(regexp_extract(v.message, 'Duration: ([0-9.]+) ms', 1)) END AS duration_ms,
           la_nullif_text(v.level) AS level,
           v.message AS message,
           la_nullif_text(v.source) AS source,
           la_nullif_text(v.type) AS type,
           coalesce(la_nullif_text(v.proxy.method), la_nullif_text(v.requestMethod)) AS method,
           coalesce(la_nullif_text(v.proxy.host), la_nullif_text(v.host), la_nullif_text(v.domain)) AS host,
           coalesce(CASE WHEN starts_with(v.proxy.userAgent, '[')
                         THEN json_extract_string(v.proxy.userAgent, '$[0]')
                         ELSE la_nullif_text(v.proxy.userAgent) END,
                    la_nullif_text(v.requestUserAgent)) AS user_agent,
           coalesce(la_nullif_text(v.proxy.region), la_nullif_text(v.executionRegion)) AS region,
           CASE WHEN v IS NULL THEN 'not a JSON object'
                WHEN ts IS NULL THEN 'no timestamp, timestampInMs or TimeUTC'
                WHEN la_not_number(status_text) THEN 'status is not a number: ' || status_text
           END AS _reject
    FROM (
        SELECT *,
               -- the dashboard export writes host + path
               CASE WHEN url IS NULL OR starts_with(url, '/') THEN url
                    ELSE coalesce(nullif(regexp_extract(url, '^[^/]*(/.*)$', 1), ''), '/') END AS rel_url
        FROM (
            SELECT *,
                   -- A Lambda REPORT line is printed when the invocation ends; the request
                   -- row is placed at the request's arrival (proxy.timestamp), so
                   -- [ts, ts + duration] spans the invocation.
                   la_ts(coalesce(CASE WHEN v.type = 'report' THEN la_nullif_text(v.proxy.timestamp) END,
                                  la_nullif_text(v.timestamp), la_nullif_text(v.timestampInMs),
                                  la_nullif_text(v.TimeUTC))) AS ts,
                   coalesce(la_nullif_text(v.proxy.statusCode), la_nullif_text(v.statusCode),
                            nullif(la_nullif_text(v.responseStatusCode), '0')) AS status_text,
                   coalesce(la_nullif_text(v.requestId),
                            CASE WHEN v.requestMethod IS NOT NULL AND v.rowId IS NULL
                                 THEN regexp_replace(v.id, '_[0-9]+$', '') END) AS request_id,
                   coalesce(la_nullif_text(v.proxy.path), la_nullif_text(v.requestPath),
                            la_nullif_text(v.path)) AS url,
                   coalesce(la_nullif_text(v.id), la_nullif_text(v.rowId)) AS own_id,
                   -- the shapes that repeat the request on each console entry: the
                   -- dashboard export (ordered within a request by time) and the CLI's
                   -- request logs (`<requestId>_1`, ...)
                   CASE WHEN v.TimeUTC IS NOT NULL THEN v.requestId END AS export_request,
                   la_int(v.timestampInMs) AS export_order,
                   v.requestMethod IS NOT NULL AND v.rowId IS NULL AND regexp_matches(v.id, '_[0-9]+$')
                       AS cli_repeat
            FROM (
                SELECT doc, _blank,
                       CASE WHEN starts_with(ltrim(doc), '{')
                            THEN try(json_transform(doc, '""" + VERCEL_FIELDS + """')) END AS v
                FROM (SELECT doc, ltrim(doc) = '' IS NOT FALSE AS _blank FROM (__DOCS__))
            )
        )
    )
)
"""

# Windows over the few rows that need them: ids for documents without one (md5 of the
# document and its occurrence among equal documents), and the later entries of a
# request in the dashboard export.
_STAGE_SQL = """
WITH
fallback AS (
    SELECT rowid AS _row, row_number() OVER (PARTITION BY doc ORDER BY rowid) AS occurrence
    FROM _la_parsed WHERE NOT _blank AND own_id IS NULL
),
export_repeats AS (
    SELECT rowid AS _row, row_number() OVER (PARTITION BY export_request ORDER BY export_order, rowid) > 1
               AS later
    FROM _la_parsed WHERE NOT _blank AND export_request IS NOT NULL
)
SELECT """ + LINE_NUMBER_SQL + """ AS _line, p.doc AS _raw,
       coalesce(p.own_id, 'vercel:' || md5(p.doc) || '#' || f.occurrence) AS id,
       p.ts, p.request_id, p.method, p.path, p.query, p.status, p.duration_ms, p.level, p.message,
       p.source,
       CASE WHEN coalesce(e.later, p.cli_repeat, false)
            THEN CASE WHEN p.level IN ('error', 'fatal') THEN 'stderr' ELSE 'stdout' END
            ELSE p.type END AS type,
       p.host, p.user_agent, p.region, p._reject
FROM _la_parsed p
LEFT JOIN fallback f ON f._row = p.rowid
LEFT JOIN export_repeats e ON e._row = p.rowid
WHERE NOT p._blank
"""


def json_docs(ctx: FileContext) -> tuple[str, dict[str, Any]]:
    """SQL yielding (_line, doc) for each JSON object of the file, whichever layout the
    sample shows: an array, one object per line (bad lines become rejected rows), or
    pretty-printed objects in a row; with its parameters. For small inputs (pg_cron
    exports): the numbering window runs on one thread."""
    layout = _docs_layout(ctx.sample)
    if layout == "lines":
        return "SELECT _line, line AS doc FROM (" + TEXT_LINES_SQL + ")", {"path": ctx.sql_path}
    numbered = "SELECT row_number() OVER () AS _line, doc FROM (" + _UNNUMBERED_DOCS[layout] + ")"
    return numbered, _docs_params(ctx, layout)


def _docs_params(ctx: FileContext, layout: str) -> dict[str, Any]:
    if layout == "lines":
        return {"path": ctx.sql_path}
    return {"path": ctx.sql_path, "max_size": MAX_OBJECT_BYTES}


def _docs_layout(sample: Sample) -> str:
    if sample.first_char == "[":
        return "array"
    if sample.lines and _is_json_object(sample.lines[0]):
        return "lines"
    return "unstructured"


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def _load(ctx: FileContext) -> None:
    layout = _docs_layout(ctx.sample)
    numbering = parse_lines(ctx, _PARSE_SQL.replace("__DOCS__", _UNNUMBERED_DOCS[layout]),
                            _docs_params(ctx, layout))
    ctx.stage("vercel_logs", _STAGE_SQL, numbering)
    drop_parsed(ctx)


VERCEL_KEYS = {"deploymentId", "projectId", "proxy", "requestMethod", "timestampInMs", "rowId", "TimeUTC"}


def _sniff(sample: Sample) -> int:
    if sample.first_char not in "[{":
        return 0
    keys = first_object_keys(sample)
    if keys & {"event_message", "metadata", "log_attributes"}:
        return 0
    hits = len(keys & VERCEL_KEYS)
    if hits >= 2 or (hits and keys & {"requestId", "statusCode", "level", "message"}):
        return 85
    return 0


register(LogFormat(
    name="vercel",
    description="Vercel function/request logs: log-drain JSON (array or NDJSON), "
    "`vercel logs --json` lines, the dashboard log export",
    sniff=_sniff, load=_load, tables=("vercel_logs",),
    example="vercel logs --json > vercel.ndjson && loganalyze ingest vercel.ndjson",
))
