"""Self-hosted PostgREST container output: stdout access lines (Apache-like, no latency)
and stderr diagnostics `dd/Mon/yyyy:HH:MM:SS +zzzz: message`, including the SQL that
`log-query = true` writes before a failing request's access line.

Also home of the text-line reading shared by every self-hosted container reader: a log
is read as numbered lines by DuckDB's CSV reader (no quoting, no delimiter), the
transport prefixes `docker compose logs` (`service  | `) and `docker logs --timestamps`
(RFC3339 + space) are split off, and each row gets a deterministic id.

Paths are stored as PostgREST logs them: behind the Kong gateway (`strip_path: true`)
that is the table path without `/rest/v1` (`/registrations`); edge_logs carries the
public path of the same request.
"""

from __future__ import annotations

import re

from .core import FileContext, LogFormat, register
from .files import Sample

# Every non-blank line of the file, numbered from 1 (blank lines keep their number).
# `new_line = '\r\n'` makes the reader accept both LF and CRLF without phantom lines.
TEXT_LINES_SQL = r"""
SELECT _line, rtrim(line, chr(13)) AS line
FROM (
    SELECT row_number() OVER () AS _line, line
    FROM read_csv($path, columns = {'line': 'VARCHAR'}, delim = '\0', header = false,
                  quote = '', escape = '', auto_detect = false, strict_mode = false,
                  new_line = '\r\n')
)
WHERE trim(coalesce(line, '')) <> ''
"""

# `docker compose logs` service column, then `docker logs --timestamps` time, then the
# container's own line. Group 1 = the docker timestamp (or ''), group 2 = the line.
TRANSPORT_PREFIX_RE = (
    r"^(?:[A-Za-z0-9][\w.-]*\s+\|\s?)?"
    r"(?:(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\s)?"
    r"(.*)$"
)

# Every line split into the docker timestamp ('' when absent) and the container's line.
SPLIT_LINES_SQL = """
SELECT _line, line,
       regexp_extract(line, $prefix_re, 1) AS docker_time,
       regexp_extract(line, $prefix_re, 2) AS body
FROM (""" + TEXT_LINES_SQL + """)
"""

# A deterministic row id for sources without one: the same line at the same time gets
# the same id in every file (re-ingest and overlapping exports add nothing), while
# repeated identical lines within one file stay distinct through their occurrence index.
# Expects columns `body` (the line without transport prefixes), `ts` and `_line`.
LINE_ID_SQL = (
    "md5(concat_ws('|', body, CAST(ts AS VARCHAR))) || '#' || "
    "row_number() OVER (PARTITION BY body, ts ORDER BY _line)"
)

ACCESS_RE = (
    r'^(\S+) - (\S+) \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
    r'"(\S+) (\S+)[^"]*" (\d{3}) (\S+) "([^"]*)" "([^"]*)"\s*$'
)
STDERR_RE = r"^(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}): (.*)$"
# The Docker Desktop log viewer puts its own local `YYYY-MM-DD HH:MM:SS ` before each
# line; the line's own time is the one that counts.
VIEWER_PREFIX_RE = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (\d\d/[A-Z][a-z]{2}/\d{4}:)"
# `log-query = true` writes the statement PostgREST ran, on one line.
QUERY_RE = r"^(WITH|SELECT|INSERT|UPDATE|DELETE|CALL|SET|BEGIN|COMMIT|ROLLBACK)\b"
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"

_LOAD_SQL = """
WITH lines AS (
    SELECT _line, line, regexp_replace(body, $viewer_re, '\\1') AS body
    FROM (""" + SPLIT_LINES_SQL + """)
),
parsed AS (
    SELECT _line, line, body,
           regexp_extract(body, $access_re,
               ['ip', 'role', 'time', 'method', 'url', 'status', 'bytes', 'referer', 'ua']) AS a,
           regexp_extract(body, $stderr_re, ['time', 'message']) AS e
    FROM lines
),
shaped AS (
    SELECT _line, line, body, a, e,
           a.status <> '' AS is_access, a.status = '' AND e.time <> '' AS is_stderr,
           try_strptime(CASE WHEN a.status <> '' THEN a.time ELSE e.time END, $time_format) AS ts
    FROM parsed
)
SELECT _line, line AS _raw,
       'postgrest:' || """ + LINE_ID_SQL + """ AS id,
       ts,
       CASE WHEN is_access THEN 'info' END AS level,
       CASE WHEN is_access THEN body ELSE e.message END AS message,
       CASE WHEN is_access THEN 'access'
            WHEN regexp_matches(e.message, $query_re) THEN 'query'
            ELSE 'diagnostic' END AS kind,
       CASE WHEN is_access THEN a.method END AS method,
       CASE WHEN is_access THEN split_part(a.url, '?', 1) END AS path,
       CASE WHEN is_access THEN nullif(regexp_extract(a.url, '(\\?.*)$', 1), '') END AS query,
       CASE WHEN is_access THEN la_int(a.status) END AS status,
       CASE WHEN is_access THEN nullif(a.role, '-') END AS role,
       CASE WHEN is_access THEN a.ip END AS ip,
       CASE WHEN is_access THEN nullif(nullif(a.ua, ''), '-') END AS user_agent,
       -- connection and schema-cache errors come as PostgREST's JSON error body
       CASE WHEN is_stderr AND json_valid(e.message) AND starts_with(e.message, '{')
            THEN json_extract_string(e.message, '$.code')
            WHEN is_stderr AND NOT regexp_matches(e.message, $query_re)
            THEN la_infer_sqlstate(e.message) END AS sqlstate,
       CASE WHEN NOT (is_access OR is_stderr) THEN 'not a PostgREST access or stderr line'
            WHEN ts IS NULL THEN 'unreadable time' END AS _reject
FROM shaped
"""


def _params(ctx: FileContext) -> dict[str, object]:
    return {
        "path": ctx.sql_path,
        "prefix_re": TRANSPORT_PREFIX_RE,
        "viewer_re": VIEWER_PREFIX_RE,
        "access_re": ACCESS_RE,
        "stderr_re": STDERR_RE,
        "query_re": QUERY_RE,
        "time_format": TIME_FORMAT,
    }


def _load(ctx: FileContext) -> None:
    ctx.stage("postgrest_logs", _LOAD_SQL, _params(ctx))


# ------------------------------------------------------------------ sniffing helpers
def strip_transport(line: str) -> str:
    """The container's own line, as the SQL above sees it (for sniffers only)."""
    match = re.match(TRANSPORT_PREFIX_RE, line)
    return match.group(2) if match else line


def count_matching(sample: Sample, pattern: str, limit: int = 200) -> int:
    """How many of the sample's first lines (transport prefixes removed) match."""
    rx = re.compile(pattern)
    return sum(1 for ln in sample.lines[:limit] if rx.search(strip_transport(ln)))


def access_lines(sample: Sample, limit: int = 200) -> list[list[str]]:
    """Fields of the sample's access-log lines (shared by the PostgREST and Kong sniffers:
    both write the Apache/nginx `combined` shape)."""
    rx = re.compile(ACCESS_RE)
    out = []
    for ln in sample.lines[:limit]:
        match = rx.match(strip_transport(ln))
        if match:
            out.append(list(match.groups()))
    return out


def looks_like_postgrest_access(fields: list[str]) -> bool:
    """PostgREST writes the database role in the user slot and `""` for a missing
    referer; nginx writes `-` for both, and behind Kong the path keeps its `/rest/v1`."""
    _ip, role, _time, _method, url, _status, _bytes, referer, _ua = fields
    if url.startswith(("/rest/v1", "/auth/v1", "/realtime/v1", "/storage/v1", "/functions/v1", "/graphql/v1", "/pg/")):
        return False
    return role != "-" or referer == ""


def _sniff(sample: Sample) -> int:
    if sample.first_char in "[{":
        return 0
    bodies = [re.sub(VIEWER_PREFIX_RE, r"\1", strip_transport(ln)) for ln in sample.lines[:200]]
    if not bodies:
        return 0
    stderr_lines = sum(1 for ln in bodies if re.match(STDERR_RE, ln))
    postgrest_access = sum(1 for f in access_lines(sample) if looks_like_postgrest_access(f))
    share = (stderr_lines + postgrest_access) / len(bodies)
    if share >= 0.5:
        return 75
    return 40 if share > 0 else 0


register(LogFormat(
    name="postgrest",
    description="Self-hosted PostgREST container output: stdout access lines and stderr "
    "diagnostics (`dd/Mon/yyyy:HH:MM:SS +zzzz: ...`, log-query SQL)",
    sniff=_sniff, load=_load, tables=("postgrest_logs",),
    example="docker logs supabase-rest > rest.log 2>&1 && loganalyze ingest rest.log",
))
