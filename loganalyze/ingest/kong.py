"""Self-hosted Kong (nginx) access lines in the `combined` format, into edge_logs:

    172.18.0.1 - - [20/Nov/2026:10:00:01 +0000] "GET /rest/v1/registrations?select=id HTTP/1.1" 400 97 "-" "node"

The gateway sees the public path (`/rest/v1/...`, `/auth/v1/...`). The combined format
has no latency, no JWT subject and no client-info header, so those columns stay NULL.
nginx error-log lines (`YYYY/MM/DD HH:MM:SS [error] ...`) describe no request and are
kept as rejected rows with their own reason.
"""

from __future__ import annotations

from .core import FileContext, LogFormat, register
from .files import Sample
from .postgrest import (
    ACCESS_FIELDS_SQL,
    ACCESS_RE,
    QUOTED_SQL,
    TIME_FORMAT,
    access_lines,
    count_matching,
    looks_like_postgrest_access,
)
from .textlines import (
    LINE_ID_SQL,
    LINE_NUMBER_SQL,
    NONBLANK_SQL,
    REPEATS_CTE,
    SPLIT_LINES_SQL,
    TRANSPORT_PREFIX_RE,
    drop_parsed,
    parse_lines,
)

NGINX_ERROR_RE = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[a-z]+\] "

# One row per line of the file, every column but the id.
_PARSE_SQL = """
SELECT transport, body, _blank, hash(body) AS _key, ts,
       a.method AS method,
       split_part(a.url, '?', 1) AS path,
       CASE WHEN contains(a.url, '?') THEN substr(a.url, strpos(a.url, '?')) END AS query,
       la_int(a.status) AS status,
       nullif(nullif(a.ua, ''), '-') AS user_agent,
       a.ip AS ip,
       CASE WHEN a IS NULL AND regexp_matches(body, $error_re)
                THEN 'nginx error-log line (not a request)'
            WHEN a IS NULL THEN 'not an nginx combined access line'
            WHEN ts IS NULL THEN 'unreadable time: ' || a.time END AS _reject
FROM (
    SELECT *, try_strptime(a.time, $time_format) AS ts
    FROM (SELECT *, """ + NONBLANK_SQL + """ IS NOT TRUE AS _blank, """ + ACCESS_FIELDS_SQL + """ AS a
          FROM (SELECT *, """ + QUOTED_SQL + """ FROM (""" + SPLIT_LINES_SQL + """)))
)
"""

_STAGE_SQL = """
WITH """ + REPEATS_CTE + """
SELECT """ + LINE_NUMBER_SQL + """ AS _line, p.transport || p.body AS _raw,
       'kong:' || """ + LINE_ID_SQL + """ AS id,
       p.ts, p.method, p.path, p.query, p.status, p.user_agent, p.ip,
       p.body AS event_message, p._reject
FROM _la_parsed p LEFT JOIN repeats r ON r._row = p.rowid
WHERE NOT p._blank
"""


def _load(ctx: FileContext) -> None:
    numbering = parse_lines(ctx, _PARSE_SQL, {
        "path": ctx.sql_path,
        "prefix_re": TRANSPORT_PREFIX_RE,
        "access_re": ACCESS_RE,
        "error_re": NGINX_ERROR_RE,
        "time_format": TIME_FORMAT,
    })
    ctx.stage("edge_logs", _STAGE_SQL, numbering, unique_ids=True)
    drop_parsed(ctx)


def _sniff(sample: Sample) -> int:
    if sample.first_char in "[{" or not sample.lines:
        return 0
    gateway = sum(1 for f in access_lines(sample) if not looks_like_postgrest_access(f))
    hits = gateway + count_matching(sample, NGINX_ERROR_RE)
    if hits >= 0.5 * min(len(sample.lines), 200):
        return 70
    return 30 if gateway else 0


register(LogFormat(
    name="kong",
    description="Self-hosted Kong/nginx access lines (`combined` format) into edge_logs",
    sniff=_sniff, load=_load, tables=("edge_logs",),
    example="docker logs supabase-kong > kong.log 2>&1 && loganalyze ingest kong.log",
))
