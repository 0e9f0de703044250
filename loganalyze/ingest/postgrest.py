"""Self-hosted PostgREST container output: stdout access lines (Apache-like, no latency)
and stderr diagnostics `dd/Mon/yyyy:HH:MM:SS +zzzz: message`, including the SQL that
`log-query = true` writes before a failing request's access line.

Paths are stored as PostgREST logs them: behind the Kong gateway (`strip_path: true`)
that is the table path without `/rest/v1` (`/registrations`); edge_logs carries the
public path of the same request.
"""

from __future__ import annotations

import re

from .core import FileContext, LogFormat, register
from .files import Sample
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

# The Apache/nginx `combined` shape that PostgREST and Kong both write. The groups serve
# the sniffers; SQL only tests the shape and cuts the fields with string functions.
ACCESS_RE = (
    r'^(\S+) - (\S+) \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] '
    r'"(\S+) (\S+)[^"]*" (\d{3}) (\S+) "([^"]*)" "([^"]*)"\s*$'
)
# The fields of an access line, cut from `_quoted` (`QUOTED_SQL`: the line split at its
# quotes once; cutting each field from the whole line again costs twice the time).
QUOTED_SQL = "string_split(body, '\"') AS _quoted"
ACCESS_FIELDS_SQL = """
CASE WHEN regexp_matches(body, $access_re) THEN {
    'ip': split_part(_quoted[1], ' ', 1),
    'user': split_part(_quoted[1], ' ', 3),
    'time': _quoted[1][strpos(_quoted[1], '[') + 1:strpos(_quoted[1], ']') - 1],
    'method': split_part(_quoted[2], ' ', 1),
    'url': split_part(_quoted[2], ' ', 2),
    'status': split_part(ltrim(_quoted[3]), ' ', 1),
    'referer': _quoted[4],
    'ua': _quoted[6]
} END"""
STDERR_RE = r"^\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}: "
STDERR_TIME_CHARS = 26  # `20/Nov/2026:10:00:00 +0000`, then `: `, then the message
# The Docker Desktop log viewer puts its own local `YYYY-MM-DD HH:MM:SS ` before each
# line; the line's own time is the one that counts.
VIEWER_PREFIX_RE = r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \d\d/[A-Z][a-z]{2}/\d{4}:"
VIEWER_PREFIX_CHARS = 20
# `log-query = true` writes the statement PostgREST ran, on one line.
QUERY_RE = r"^(WITH|SELECT|INSERT|UPDATE|DELETE|CALL|SET|BEGIN|COMMIT|ROLLBACK)\b"
TIME_FORMAT = "%d/%b/%Y:%H:%M:%S %z"

# One row per line of the file, every column but the id.
_PARSE_SQL = """
SELECT transport, body, _blank, hash(body) AS _key, ts,
       CASE WHEN is_access THEN 'info' END AS level,
       CASE WHEN is_access THEN body ELSE stderr_message END AS message,
       CASE WHEN is_access THEN 'access'
            WHEN regexp_matches(stderr_message, $query_re) THEN 'query'
            ELSE 'diagnostic' END AS kind,
       a.method AS method,
       split_part(a.url, '?', 1) AS path,
       CASE WHEN contains(a.url, '?') THEN substr(a.url, strpos(a.url, '?')) END AS query,
       la_int(a.status) AS status,
       nullif(a.user, '-') AS role,
       a.ip AS ip,
       nullif(nullif(a.ua, ''), '-') AS user_agent,
       -- connection and schema-cache errors come as PostgREST's JSON error body
       CASE WHEN is_stderr AND starts_with(stderr_message, '{') AND json_valid(stderr_message)
            THEN json_extract_string(stderr_message, '$.code')
       END AS sqlstate,
       -- other stderr lines: inferred from the message once the rows are staged
       CASE WHEN is_stderr AND NOT (starts_with(stderr_message, '{') AND json_valid(stderr_message))
                 AND NOT regexp_matches(stderr_message, $query_re)
            THEN stderr_message END AS _sqlstate_from,
       CASE WHEN NOT (is_access OR is_stderr) THEN 'not a PostgREST access or stderr line'
            WHEN ts IS NULL THEN 'unreadable time' END AS _reject
FROM (
    SELECT *,
           a IS NOT NULL AS is_access,
           a IS NULL AND is_stderr_line AS is_stderr,
           CASE WHEN is_stderr_line THEN substr(body, $stderr_chars + 3) END AS stderr_message,
           try_strptime(CASE WHEN a IS NOT NULL THEN a.time
                             WHEN is_stderr_line THEN left(body, $stderr_chars) END, $time_format) AS ts
    FROM (
        SELECT *, """ + ACCESS_FIELDS_SQL + """ AS a, regexp_matches(body, $stderr_re) AS is_stderr_line
        FROM (
            SELECT *, """ + QUOTED_SQL + """ FROM (
            SELECT transport, docker_time, """ + NONBLANK_SQL + """ IS NOT TRUE AS _blank,
                   -- the line's own text, without the Docker Desktop viewer's column
                   CASE WHEN regexp_matches(body, $viewer_re) THEN substr(body, $viewer_chars + 1) ELSE body END
                       AS body
            FROM (""" + SPLIT_LINES_SQL + """))
        )
    )
)
"""

_STAGE_SQL = """
WITH """ + REPEATS_CTE + """
SELECT """ + LINE_NUMBER_SQL + """ AS _line, p.transport || p.body AS _raw,
       'postgrest:' || """ + LINE_ID_SQL + """ AS id,
       p.ts, p.level, p.message, p.kind, p.method, p.path, p.query, p.status, p.role, p.ip,
       p.user_agent, p.sqlstate, p._reject
FROM _la_parsed p LEFT JOIN repeats r ON r._row = p.rowid
WHERE NOT p._blank
"""


def _params(ctx: FileContext) -> dict[str, object]:
    return {
        "path": ctx.sql_path,
        "prefix_re": TRANSPORT_PREFIX_RE,
        "viewer_re": VIEWER_PREFIX_RE,
        "viewer_chars": VIEWER_PREFIX_CHARS,
        "access_re": ACCESS_RE,
        "stderr_re": STDERR_RE,
        "stderr_chars": STDERR_TIME_CHARS,
        "query_re": QUERY_RE,
        "time_format": TIME_FORMAT,
    }


def _load(ctx: FileContext) -> None:
    numbering = parse_lines(ctx, _PARSE_SQL, _params(ctx))
    ctx.stage("postgrest_logs", _STAGE_SQL, numbering, unique_ids=True)
    drop_parsed(ctx)


# ------------------------------------------------------------------ sniffing helpers
def strip_transport(line: str) -> str:
    """The container's own line, as the SQL above sees it (for sniffers only)."""
    return line[re.match(TRANSPORT_PREFIX_RE, line).end():]  # type: ignore[union-attr]


def docker_time(line: str) -> str | None:
    """The `docker logs --timestamps` time before a line, if any (for sniffers only)."""
    prefix = line[: re.match(TRANSPORT_PREFIX_RE, line).end()]  # type: ignore[union-attr]
    match = re.search(r"\d{4}-\d\d-\d\dT\S+", prefix)
    return match.group(0) if match else None


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


def _without_viewer_prefix(line: str) -> str:
    return line[VIEWER_PREFIX_CHARS:] if re.match(VIEWER_PREFIX_RE, line) else line


def _sniff(sample: Sample) -> int:
    if sample.first_char in "[{":
        return 0
    bodies = [_without_viewer_prefix(strip_transport(ln)) for ln in sample.lines[:200]]
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
