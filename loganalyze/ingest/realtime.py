"""Self-hosted Realtime container output (Elixir Logger text lines), into realtime_logs.

Both formatter layouts Realtime ships are read:

    15:09:58.170 project=realtime-dev external_id=realtime-dev [info] Billing metrics: [...]
    08:09:01.305 [info] Migrations already up project=realtime-dev

(default `$time $metadata[$level] $message`, prod `$time [$level] $message $metadata`).
Lines that do not start with a time continue the entry above (inspected terms, query
parameters) and are folded into its message. Elixir's `$time` has no date: it comes from
a `docker logs --timestamps` prefix when present (that instant is used as the row's
time), else from `--date` (the day the log starts; a time that jumps back by more than
12 hours moves to the next day). Without either the file is refused rather than
guessed. Times are taken as UTC, the containers' clock.

The Elixir line reading here is shared with the Supavisor reader.
"""

from __future__ import annotations

import re
from typing import Any

from .core import FileContext, LogFormat, register
from .files import Sample
from .postgrest import docker_time, strip_transport
from .textlines import (
    LINE_ID_SQL,
    NONBLANK_SQL,
    PARSED_TABLE,
    REPEATS_CTE,
    SPLIT_LINES_SQL,
    TRANSPORT_PREFIX_RE,
    drop_parsed,
    parse_lines,
    timestamp_sql,
)

LEVELS = "debug|info|notice|warning|warn|error|critical|alert|emergency"
# The head of an entry line: optional `$date`, time of day, metadata, `[level]`. Matched
# without groups (cheap); its pieces are then cut with string functions.
ELIXIR_HEAD_RE = (
    r"^(?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d\.\d{3} (?:[a-z_]+=\S* )*\[(?:" + LEVELS + r")\] ?"
)

REALTIME_METADATA_KEYS = (
    "request_id", "project", "external_id", "application_name", "error_code", "sub", "iss", "exp",
)

# Every line of an Elixir Logger text log: the length of its entry head (0 for a line
# that continues the entry above).
ELIXIR_LINES_SQL = """
SELECT transport, docker_time, body, _blank,
       CASE WHEN _blank THEN 0 ELSE length(regexp_extract(body, $head_re)) END AS head_len
FROM (SELECT *, """ + NONBLANK_SQL + """ IS NOT TRUE AS _blank FROM (""" + SPLIT_LINES_SQL + """))
"""

# Entries of the lines above: one row per entry with its continuation lines folded in.
# Continuation lines are few: each finds its entry with an ASOF join (the latest head
# line before it) instead of a running count over every line; lines before the first
# entry make a rejected row of their own. Yields _line, _raw (bad rows only), body (the
# entry's text, for the id), ts, level, message (trailing metadata removed), meta (all
# `key=value` metadata), _reject, _key and _blank (for REPEATS_CTE).
# __DAYS__ is the day count of entries dated by --date (see `elixir_entries_sql`).
_ELIXIR_ENTRIES_SQL = """
CREATE OR REPLACE TEMP TABLE _la_elixir_entries AS
WITH
heads AS (SELECT rowid AS _row FROM _la_parsed WHERE head_len > 0),
more AS (
    SELECT coalesce(h._row, -1) AS entry_row, min(c._row) AS first_row,
           string_agg(c.transport || c.body, chr(10) ORDER BY c._row) AS raw_more,
           string_agg(c.body, chr(10) ORDER BY c._row) AS body_more
    FROM (SELECT rowid AS _row, transport, body FROM _la_parsed WHERE head_len = 0 AND NOT _blank) c
    ASOF LEFT JOIN heads h ON c._row >= h._row
    GROUP BY entry_row
),
entries AS (
    SELECT p.rowid AS _row, p.transport, p.docker_time, p.body AS first_body, left(p.body, p.head_len) AS head,
           substr(p.body, p.head_len + 1) AS first_message, m.raw_more, m.body_more
    FROM _la_parsed p LEFT JOIN more m ON m.entry_row = p.rowid
    WHERE p.head_len > 0
),
parts AS (
    SELECT *,
           CASE WHEN substr(head, 5, 1) = '-' THEN left(head, 10) END AS line_date,
           CASE WHEN substr(head, 5, 1) = '-' THEN substr(head, 12) ELSE head END AS from_time
    FROM entries
),
pieces AS (
    SELECT *,
           try_cast(left(from_time, 12) AS TIME) AS tod,
           rtrim(string_split(rtrim(from_time), '[')[-1], ']') AS level_text,
           rtrim(substr(from_time, 14)) AS meta_and_level,
           CASE WHEN contains(first_message, '=')
                THEN rtrim(regexp_extract(first_message, $meta_tail_re), ' \t\r\n') ELSE '' END AS meta_tail
    FROM parts
),
days AS (__DAYS__),
dated AS (
    SELECT *,
           CASE WHEN line_date IS NOT NULL THEN CAST(CAST(line_date AS DATE) + tod AS TIMESTAMPTZ)
                WHEN docker_time <> '' THEN """ + timestamp_sql("docker_time") + """
                WHEN $reference_date IS NOT NULL
                    THEN CAST(CAST($reference_date AS DATE) + CAST(d.day_offset AS INTEGER) + tod AS TIMESTAMPTZ)
           END AS ts
    FROM pieces LEFT JOIN days d USING (_row)
),
shaped AS (
    SELECT _row - $first_rowid + 1 AS _line, ts,
           CASE WHEN body_more IS NULL THEN first_body ELSE first_body || chr(10) || body_more END AS body,
           transport, first_body, raw_more,
           nullif(level_text, '') AS level,
           concat_ws(chr(10),
               nullif(left(first_message, length(first_message) - length(meta_tail)), ''),
               body_more) AS message,
           trim(left(meta_and_level, length(meta_and_level) - length(level_text) - 2) || ' ' || meta_tail) AS meta,
           NULL::VARCHAR AS _reject
    FROM dated
    UNION ALL
    SELECT first_row - $first_rowid + 1, NULL, body_more, '', NULL, raw_more, NULL, NULL, NULL,
           'text before the first log entry'
    FROM more WHERE entry_row = -1
)
SELECT _line, ts, body, level, message, meta, _reject,
       CASE WHEN _reject IS NOT NULL OR ts IS NULL
            THEN concat_ws(chr(10), transport || first_body, raw_more) END AS _raw,
       hash(body) AS _key, false AS _blank
FROM shaped
"""

# A time of day more than 12 hours before the previous dated-by---date entry's: the
# next day. Computed over those entries only (none when every line carries its date).
_DAY_OFFSETS_SQL = """
SELECT _row, sum(wrapped) OVER (ORDER BY _row ROWS UNBOUNDED PRECEDING) AS day_offset
FROM (
    SELECT _row,
           CASE WHEN lag(DATE '2000-01-01' + tod) OVER (ORDER BY _row) - (DATE '2000-01-01' + tod)
                     > INTERVAL 12 HOUR THEN 1 ELSE 0 END AS wrapped
    FROM pieces WHERE line_date IS NULL AND docker_time = ''
)
"""
_NO_DAY_OFFSETS_SQL = "SELECT NULL::BIGINT AS _row, 0 AS day_offset WHERE false"


def stage_elixir_entries(ctx: FileContext, table: str, stage_sql: str, metadata_keys: tuple[str, ...]) -> None:
    """Read an Elixir Logger text log into entries, then stage them into `table` with
    `stage_sql` (over `_la_parsed` entries, REPEATS_CTE and LINE_ID_SQL apply)."""
    params = elixir_params(ctx, metadata_keys)
    numbering = parse_lines(ctx, ELIXIR_LINES_SQL, {k: params[k] for k in ("path", "prefix_re", "head_re")})
    days = _DAY_OFFSETS_SQL if ctx.options.reference_date is not None else _NO_DAY_OFFSETS_SQL
    ctx.execute(_ELIXIR_ENTRIES_SQL.replace("__DAYS__", days), {
        **numbering,
        "meta_tail_re": params["meta_tail_re"],
        "reference_date": params["reference_date"],
    })
    drop_parsed(ctx)
    ctx.execute("ALTER TABLE _la_elixir_entries RENAME TO " + PARSED_TABLE)
    ctx.stage(table, stage_sql, unique_ids=True)
    drop_parsed(ctx)


def metadata_value_sql(key: str) -> str:
    """SQL for one `key=value` metadata value of an entry (`meta` column); `key` is one
    of the closed lists above, never input."""
    if not re.fullmatch(r"[a-z_]+", key):
        raise ValueError(key)
    return "nullif(split_part(split_part(' ' || p.meta, ' " + key + "=', 2), ' ', 1), '')"


def elixir_params(ctx: FileContext, metadata_keys: tuple[str, ...]) -> dict[str, Any]:
    return {
        "path": ctx.sql_path,
        "prefix_re": TRANSPORT_PREFIX_RE,
        "head_re": ELIXIR_HEAD_RE,
        # no capture group: RE2 then finds the match without its slower submatch engine
        "meta_tail_re": r"(?: (?:" + "|".join(metadata_keys) + r")=\S*)+\s*$",
        "reference_date": ctx.options.reference_date,
    }


def require_date(ctx: FileContext, what: str) -> None:
    """Elixir times of day need a date; refuse instead of guessing one."""
    if ctx.options.reference_date is not None:
        return
    for line in ctx.sample.lines[:50]:
        head = re.match(ELIXIR_HEAD_RE, strip_transport(line))
        if head is None:
            continue
        if head.group(0)[4] == "-" or docker_time(line):
            return
        raise ctx.fail(
            f"{what} lines carry only a time of day ({head.group(0)[:12]}), no date",
            hint="pass --date YYYY-MM-DD (the UTC day the log starts), or export with "
            "`docker logs --timestamps` so every line carries its date",
        )


_REALTIME_SQL = """
WITH """ + REPEATS_CTE + """
SELECT p._line, p._raw,
       'realtime:' || """ + LINE_ID_SQL + """ AS id,
       p.ts, p.level, p.message,
       """ + metadata_value_sql("external_id") + """ AS external_id,
       """ + metadata_value_sql("project") + """ AS project,
       coalesce(""" + metadata_value_sql("error_code") + """,
                CASE WHEN p.level IN ('error', 'warning', 'warn')
                     THEN nullif(regexp_extract(p.message, '^([A-Z][A-Za-z]+): ', 1), '') END) AS error_code,
       nullif(regexp_extract(p.message,
           '^Billing metrics: \\[:realtime, (?::[a-z_]+, )*:([a-z_]+)\\]', 1), '') AS metric,
       la_int(nullif(split_part(split_part(measurements, ' connected: ', 2), ',', 1), '')) AS connected,
       la_int(nullif(split_part(split_part(measurements, ' connected_cluster: ', 2), ',', 1), ''))
           AS connected_cluster,
       la_double(nullif(split_part(split_part(measurements, ' limit: ', 2), ',', 1), '')) AS limit_value,
       la_double(nullif(split_part(split_part(measurements, ' sum: ', 2), ',', 1), '')) AS sum_value,
       p._reject
FROM (
    -- the measurements map as Elixir inspects it (measurements=%{connected: 3, limit: 500}),
    -- cut out once as ' connected: 3, limit: 500,' so each value is a plain string search
    SELECT *, rowid AS _row, CASE WHEN contains(message, '%{')
                   THEN ' ' || regexp_extract(message, '%\\{([^}]*)\\}', 1) || ',' END AS measurements
    FROM _la_parsed
) p LEFT JOIN repeats r ON r._row = p._row
"""


def _load(ctx: FileContext) -> None:
    require_date(ctx, "Realtime")
    stage_elixir_entries(ctx, "realtime_logs", _REALTIME_SQL, REALTIME_METADATA_KEYS)


SUPAVISOR_MARKERS = re.compile(
    r"(?:^| )(?:user|mode|instance_id|peer_ip|app_name)=|\] (?:DbHandler|ClientHandler|ProxyHandler|"
    r"Supavisor[.:]|Tenant|Manager|SynHandler)"
)


def elixir_share(sample: Sample) -> tuple[int, int]:
    """(Elixir Logger entry lines, of which Supavisor-looking) among the first lines."""
    entries = supavisor = 0
    for line in sample.lines[:200]:
        body = strip_transport(line)
        if re.match(ELIXIR_HEAD_RE, body):
            entries += 1
            supavisor += bool(SUPAVISOR_MARKERS.search(body))
    return entries, supavisor


def _sniff(sample: Sample) -> int:
    if sample.first_char in "[{" or not sample.lines:
        return 0
    entries, supavisor = elixir_share(sample)
    if not entries or supavisor * 2 > entries:
        return 0
    return 70 if entries * 3 >= min(len(sample.lines), 200) else 35


register(LogFormat(
    name="realtime",
    description="Self-hosted Realtime container output (Elixir Logger lines, with or without "
    "metadata; needs --date unless lines carry docker timestamps)",
    sniff=_sniff, load=_load, tables=("realtime_logs",),
    example="docker logs supabase-realtime > realtime.log 2>&1 && "
    "loganalyze ingest realtime.log --date 2026-11-20",
))
