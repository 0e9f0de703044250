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
    TIME_FORMAT,
    access_lines,
    count_matching,
    looks_like_postgrest_access,
)
from .textlines import LINE_ID_SQL, SPLIT_LINES_SQL, TRANSPORT_PREFIX_RE

NGINX_ERROR_RE = r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[[a-z]+\] "

_LOAD_SQL = """
WITH lines AS (""" + SPLIT_LINES_SQL + """),
parsed AS (
    SELECT _line, line, body, """ + ACCESS_FIELDS_SQL + """ AS a FROM lines
),
shaped AS (
    SELECT *, try_strptime(a.time, $time_format) AS ts FROM parsed
)
SELECT _line, line AS _raw,
       'kong:' || """ + LINE_ID_SQL + """ AS id,
       ts,
       a.method AS method,
       split_part(a.url, '?', 1) AS path,
       CASE WHEN contains(a.url, '?') THEN substr(a.url, strpos(a.url, '?')) END AS query,
       la_int(a.status) AS status,
       nullif(nullif(a.ua, ''), '-') AS user_agent,
       a.ip AS ip,
       body AS event_message,
       CASE WHEN a IS NULL AND regexp_matches(body, $error_re)
                THEN 'nginx error-log line (not a request)'
            WHEN a IS NULL THEN 'not an nginx combined access line'
            WHEN ts IS NULL THEN 'unreadable time: ' || a.time END AS _reject
FROM shaped
"""


def _load(ctx: FileContext) -> None:
    ctx.stage("edge_logs", _LOAD_SQL, {
        "path": ctx.sql_path,
        "prefix_re": TRANSPORT_PREFIX_RE,
        "access_re": ACCESS_RE,
        "error_re": NGINX_ERROR_RE,
        "time_format": TIME_FORMAT,
    }, unique_ids=True)


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
