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
from .textlines import LINE_ID_SQL, SPLIT_LINES_SQL, TRANSPORT_PREFIX_RE

LEVELS = "debug|info|notice|warning|warn|error|critical|alert|emergency"
# The head of an entry line: optional `$date`, time of day, metadata, `[level]`. Matched
# without groups (cheap); its pieces are then cut with string functions.
ELIXIR_HEAD_RE = (
    r"^(?:\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d\.\d{3} (?:[a-z_]+=\S* )*\[(?:" + LEVELS + r")\] ?"
)

REALTIME_METADATA_KEYS = (
    "request_id", "project", "external_id", "application_name", "error_code", "sub", "iss", "exp",
)

# Entries of an Elixir Logger text log: one row per entry with its continuation lines
# folded in. Yields _line, _raw, body (the entry's text, for the id), ts, level,
# message (trailing metadata removed), meta (all `key=value` metadata) and _reject.
ELIXIR_ENTRIES_SQL = """
WITH lines AS (""" + SPLIT_LINES_SQL + """),
numbered AS (
    SELECT *, sum(CASE WHEN head <> '' THEN 1 ELSE 0 END)
                  OVER (ORDER BY _line ROWS UNBOUNDED PRECEDING) AS entry
    FROM (SELECT *, regexp_extract(body, $head_re) AS head FROM lines)
),
continuations AS (
    SELECT entry, min(_line) AS first_line,
           string_agg(line, chr(10) ORDER BY _line) AS raw_more,
           string_agg(body, chr(10) ORDER BY _line) AS body_more
    FROM numbered
    WHERE head = ''
    GROUP BY entry
),
entries AS (
    SELECT n.entry, n._line, n.line, n.body, n.head, n.docker_time, c.raw_more, c.body_more
    FROM numbered AS n LEFT JOIN continuations AS c USING (entry)
    WHERE n.head <> ''
    UNION ALL
    SELECT entry, first_line, NULL, NULL, '', '', raw_more, body_more
    FROM continuations
    WHERE entry = 0
),
parts AS (
    SELECT *,
           CASE WHEN substr(head, 5, 1) = '-' THEN left(head, 10) END AS line_date,
           CASE WHEN substr(head, 5, 1) = '-' THEN substr(head, 12) ELSE head END AS from_time,
           substr(body, length(head) + 1) AS first_message
    FROM entries
),
pieces AS (
    SELECT *,
           try_cast(left(from_time, 12) AS TIME) AS tod,
           rtrim(string_split(rtrim(from_time), '[')[-1], ']') AS level_text,
           rtrim(substr(from_time, 14)) AS meta_and_level,
           CASE WHEN contains(first_message, '=')
                THEN regexp_extract(first_message, $meta_tail_re, 1) ELSE '' END AS meta_tail
    FROM parts
),
wraps AS (
    SELECT *,
           -- a time of day more than 12 hours before the previous entry's: next day
           CASE WHEN lag(DATE '2000-01-01' + tod) OVER (ORDER BY _line) - (DATE '2000-01-01' + tod)
                     > INTERVAL 12 HOUR THEN 1 ELSE 0 END AS wrapped
    FROM pieces
),
dated AS (
    SELECT *, sum(wrapped) OVER (ORDER BY _line ROWS UNBOUNDED PRECEDING) AS day_offset FROM wraps
)
SELECT _line,
       concat_ws(chr(10), line, raw_more) AS _raw,
       concat_ws(chr(10), body, body_more) AS body,
       CASE WHEN entry = 0 THEN NULL
            WHEN line_date IS NOT NULL THEN CAST(CAST(line_date AS DATE) + tod AS TIMESTAMPTZ)
            WHEN docker_time <> '' THEN la_ts(docker_time)
            WHEN $reference_date IS NOT NULL
                THEN CAST(CAST($reference_date AS DATE) + CAST(day_offset AS INTEGER) + tod AS TIMESTAMPTZ)
       END AS ts,
       nullif(level_text, '') AS level,
       concat_ws(chr(10),
           nullif(left(first_message, length(first_message) - length(meta_tail)), ''),
           body_more) AS message,
       trim(left(meta_and_level, length(meta_and_level) - length(level_text) - 2) || ' ' || meta_tail) AS meta,
       CASE WHEN entry = 0 THEN 'text before the first log entry' END AS _reject
FROM dated
"""


def metadata_value_sql(key: str) -> str:
    """SQL for one `key=value` metadata value of an entry (`meta` column); `key` is one
    of the closed lists above, never input."""
    if not re.fullmatch(r"[a-z_]+", key):
        raise ValueError(key)
    return "nullif(split_part(split_part(' ' || meta, ' " + key + "=', 2), ' ', 1), '')"


def elixir_params(ctx: FileContext, metadata_keys: tuple[str, ...]) -> dict[str, Any]:
    return {
        "path": ctx.sql_path,
        "prefix_re": TRANSPORT_PREFIX_RE,
        "head_re": ELIXIR_HEAD_RE,
        "meta_tail_re": r"((?: (?:" + "|".join(metadata_keys) + r")=\S*)+)\s*$",
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
SELECT _line, _raw,
       'realtime:' || """ + LINE_ID_SQL + """ AS id,
       ts, level, message,
       """ + metadata_value_sql("external_id") + """ AS external_id,
       """ + metadata_value_sql("project") + """ AS project,
       coalesce(""" + metadata_value_sql("error_code") + """,
                CASE WHEN level IN ('error', 'warning', 'warn')
                     THEN nullif(regexp_extract(message, '^([A-Z][A-Za-z]+): ', 1), '') END) AS error_code,
       nullif(regexp_extract(message,
           '^Billing metrics: \\[:realtime, (?::[a-z_]+, )*:([a-z_]+)\\]', 1), '') AS metric,
       -- the measurements map as Elixir inspects it: measurements=%{connected: 3, limit: 500}
       la_int(nullif(regexp_extract(message, '%\\{[^}]*\\bconnected: ([0-9]+)', 1), '')) AS connected,
       la_int(nullif(regexp_extract(message, '%\\{[^}]*\\bconnected_cluster: ([0-9]+)', 1), '')) AS connected_cluster,
       la_double(nullif(regexp_extract(message, '%\\{[^}]*\\blimit: ([0-9.]+)', 1), '')) AS limit_value,
       la_double(nullif(regexp_extract(message, '%\\{[^}]*\\bsum: ([0-9.]+)', 1), '')) AS sum_value,
       _reject
FROM (""" + ELIXIR_ENTRIES_SQL + """)
"""


def _load(ctx: FileContext) -> None:
    require_date(ctx, "Realtime")
    ctx.stage("realtime_logs", _REALTIME_SQL, elixir_params(ctx, REALTIME_METADATA_KEYS),
              unique_ids=True)


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
