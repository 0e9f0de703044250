"""PostgreSQL's own logs, read straight from the server or a cloud's log export:

- `stderr` with any `log_line_prefix` (picked from a list of common prefixes, or stated
  with `--log-line-prefix`), entries spanning lines: tab-indented continuation lines
  belong to the line above, DETAIL/HINT/CONTEXT/STATEMENT/QUERY lines to the latest entry
  of the same backend (pid), so interleaved backends keep their own continuations;
- `csvlog` (22 to 26 columns: PostgreSQL 8.4 to 15+), quoted fields spanning lines;
- `jsonlog` (PostgreSQL 15+);
- cloud envelopes: CloudNativePG JSON records, Google Cloud SQL's Cloud Logging JSON
  (`textPayload` = a stderr line without its time), Amazon RDS prefixes.

Text is read as lines by DuckDB and parsed in the same statement, one regex per line (a
line's number is its row's place in the table, so the parse needs no window and stays
parallel); the lines that continue an entry are joined to it with ASOF joins over line
numbers (latest entry line of the same pid at or before them), keeping numbers only;
entries are then built in chunks of lines, each chunk one statement reading the entries'
first lines and their section lines by number, so each step's work stays bounded; no
Python runs per line. Text logs carry no ids: a row's id
is the md5 of the entry's first line plus its occurrence number among entries of the
file with the same first line, so re-ingesting a file (or an overlapping one) adds
nothing while genuinely repeated entries are all kept.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from importlib import resources

from .core import FileContext, LogFormat, register
from .files import Sample, leading_json_values
from .postgres_prefix import (
    SECTION_TAGS,
    SEVERITIES,
    SEVERITY_MARK_RE,
    CompiledPrefix,
    PrefixChoice,
    PrefixError,
    choose_prefix,
    looks_like_stderr,
)
from .textlines import TRANSPORT_PREFIX_RE

TABLES = ("postgres_logs",)


# Every line of the file, one row each in file order, blank lines included: a line's
# number is its row's distance from the table's first row (rowid), so numbering needs no
# window over the file and the parse stays parallel.
# `docker logs`/`docker compose logs` transport prefixes are cut off when the sample
# shows them ($strip_transport), so tab continuation lines keep their leading tab.
# new_line '\r\n' reads LF and CRLF files alike (and drops the CR itself).
# A line may hold a statement of up to 64 MB; the read buffer is that size too (DuckDB's
# default is 16 maximal lines, more than a modest memory budget holds).
_READ_LINES = (
    "SELECT CASE WHEN $strip_transport "
    "THEN substr(line, length(regexp_extract(line, $transport_re)) + 1) ELSE line END AS line, "
    "NULL::VARCHAR AS ext_ts FROM read_csv($path, "
    "columns = {'line': 'VARCHAR'}, delim = '\\0', header = false, quote = '', escape = '', "
    "auto_detect = false, strict_mode = false, new_line = '\\r\\n', "
    "max_line_size = 67108864, buffer_size = 67108864)"
)

# Entries of a JSON envelope (one per line, or an array) whose text field holds one
# stderr line; every entry keeps its row (line NULL where it holds no such line), so the
# entry's number is its row's, as for plain lines.
_READ_ENVELOPE_LINES = (
    "SELECT CASE WHEN keep THEN json_extract_string(j, $text_path) END AS line, "
    "CASE WHEN keep THEN json_extract_string(j, $ts_path) END AS ext_ts "
    "FROM (SELECT json AS j, ($only_logger IS NULL OR (json_extract_string(json, '$.logger') = $only_logger "
    "AND (json->'record') IS NULL)) AS keep FROM read_json_objects($path, "
    "format = $json_format, maximum_object_size = 67108864))"
)

# One row per physical line, read and parsed in one statement: which kind of line it is
# and the prefix parts (one regex per line, all its groups in one struct).
#   start   a line with the prefix and a severity (LOG, ERROR, ...)
#   sub     a line with the prefix and a section tag (DETAIL, STATEMENT, ...)
#   bad     a line with a severity mark that does not fit the prefix (rejected)
#   tab     a tab-indented continuation of the line above
#   foreign any other text (pg_ctl's own output, a container entrypoint): kept in the
#           raw text of the entry above, never in its message; skipped (and counted in
#           the summary) before the first entry
#   NULL    an empty line (or an envelope entry without a line): it only keeps the count
_PARSE_SQL = """
CREATE OR REPLACE TEMP TABLE _la_pg_lines AS
SELECT line, ext_ts,
    CASE WHEN p IS NULL THEN (CASE WHEN line IS NULL OR line = '' THEN NULL
                                   WHEN starts_with(line, chr(9)) THEN 'tab'
                                   WHEN regexp_matches(line, $mark) THEN 'bad'
                                   ELSE 'foreign' END)
         WHEN list_contains($section_tags, struct_extract(p, $g_sev)) THEN 'sub'
         ELSE 'start' END AS kind,
    struct_extract(p, $g_sev) AS sev,
    CASE WHEN p IS NOT NULL THEN length(p.g1) END AS cut,
    __FIELDS__
FROM (
    SELECT line, ext_ts, CASE WHEN p0.g1 <> '' THEN p0 END AS p
    FROM (SELECT line, ext_ts, regexp_extract(line, $re, $names) AS p0 FROM (__LINES__))
)
"""

# Prefix parts → columns of _la_pg_lines. A part the prefix lacks is NULL on every line
# (never extracted: '' and NULL read alike downstream, and the column costs nothing).
_PARSE_FIELDS = (
    ("ts", "f_ts"), ("sqlstate", "f_sqlstate"), ("user_name", "f_user"), ("database", "f_db"),
    ("application_name", "f_app"), ("backend_type", "f_backend"), ("session_id", "f_session"),
    ("command_tag", "f_command"), ("connection_from", "f_client"), ("remote_host", "f_host"),
    ("query_id", "f_query_id"), ("free_text", "f_free"),
)


def _parse_sql(compiled: CompiledPrefix, lines_sql: str) -> str:
    fields = [
        "try_cast(struct_extract(p, $g_pid) AS BIGINT) AS pid" if compiled.has_pid else "NULL::BIGINT AS pid",
        *(
            ("struct_extract(p, $g_" + field + ") AS " if field in compiled.groups else "NULL::VARCHAR AS ") + column
            for field, column in _PARSE_FIELDS
        ),
    ]
    return _PARSE_SQL.replace("__FIELDS__", ",\n    ".join(fields)).replace("__LINES__", lines_sql)


# A line's number: its row's distance from the first row of _la_pg_lines ($base is the
# first row's rowid minus one). Ranges of lines are filtered on rowid itself, which
# skips whole row groups.
_LINE_N = "(rowid - $base)"

# Where each line that is not an entry's first line belongs. A section line (DETAIL,
# STATEMENT, ...) joins the latest start line of the same pid; a continuation line joins
# the prefixed line above it, and through it that line's entry. A line with nothing to
# join is an entry of its own (rejected unless it is a section line). Only numbers are
# kept here: moving the text through the ASOF joins' sorts costs more than reading it
# once more by line number where the entries are built.
_LINK_SQL = """
CREATE OR REPLACE TEMP TABLE _la_pg_links AS
WITH
lines AS (SELECT """ + _LINE_N + """ AS n, kind, sev, pid FROM _la_pg_lines WHERE kind IS NOT NULL),
others AS (SELECT n, kind, sev, coalesce(pid, -1) AS k FROM lines WHERE kind <> 'start'),
starts AS (SELECT n, coalesce(pid, -1) AS k FROM lines WHERE kind = 'start'),
anchors AS (SELECT n FROM lines WHERE kind IN ('start', 'sub', 'bad')),
sub_links AS (
    SELECT o.n, o.sev, coalesce(st.n, o.n) AS entry
    FROM (SELECT n, k, sev FROM others WHERE kind = 'sub') o
    ASOF LEFT JOIN starts st ON o.k = st.k AND o.n >= st.n
),
follower_links AS (
    SELECT o.n, o.kind, a.n AS section
    FROM (SELECT n, kind FROM others WHERE kind IN ('tab', 'foreign')) o
    ASOF LEFT JOIN anchors a ON o.n >= a.n
)
SELECT n, 'sub' AS kind, sev, n AS section, entry FROM sub_links
UNION ALL
SELECT f.n, f.kind, NULL, f.section, coalesce(sl.entry, f.section, f.n) AS entry
FROM follower_links f LEFT JOIN (SELECT n, entry FROM sub_links) sl ON sl.n = f.section
UNION ALL
SELECT n, kind, NULL, n, n FROM others WHERE kind = 'bad'
"""

# The first lines of entries whose first line is in [$lo, $hi): every start line, plus
# the few lines that head an entry of their own (a line that does not fit the prefix, a
# section line with no entry above).
_HEADS_SQL = (
    "SELECT " + _LINE_N + " AS n, * FROM _la_pg_lines "
    "WHERE rowid >= $lo + $base AND rowid < $hi + $base AND kind = 'start' "
    "UNION ALL "
    "SELECT " + _LINE_N + " AS n, * FROM _la_pg_lines "
    "WHERE rowid >= $lo + $base AND rowid < $hi + $base AND kind IN ('sub', 'tab', 'bad') "
    "AND " + _LINE_N + " IN (SELECT n FROM _la_pg_links WHERE entry = n AND n >= $lo AND n < $hi)"
)

# What tells entries of one file apart in their ids (see la_pg_event_key): the time as
# written, the pid, the severity and the message's first line. Within a file the written
# time stands for the instant, so the occurrence numbers below need no parsed times.
_OCCURRENCE_KEY = (
    "concat(coalesce(CASE WHEN $has_ts THEN f_ts END, ext_ts), '|', pid, '|', sev, '|', "
    "CASE WHEN contains(line, ' at character ') "
    "THEN regexp_replace(substr(line, cut + 1), ' at character \\d+$', '') ELSE substr(line, cut + 1) END)"
)

# Occurrence numbers, only where a key repeats (a window over every head costs; the
# 64-bit hash finds the candidates far cheaper than the text). Computed over the whole
# file once, so that entries staged in separate chunks still count on.
_REPEATS_SQL = (
    "CREATE OR REPLACE TEMP TABLE _la_pg_repeats AS "
    "WITH heads AS NOT MATERIALIZED (SELECT n, " + _OCCURRENCE_KEY + " AS id_key FROM ("
    + _HEADS_SQL + ")) "
    "SELECT n, row_number() OVER (PARTITION BY id_key ORDER BY n) AS occurrence FROM heads "
    "WHERE hash(id_key) IN (SELECT hash(id_key) AS hk FROM heads GROUP BY hk HAVING count(*) > 1)"
)

# Entries whose first line is in [$lo, $hi) → normalized rows (see
# core.FileContext.stage for the bookkeeping columns). Every line already knows its
# entry (_la_pg_links), so a file is staged in chunks of entries, each a bounded piece
# of work, with nothing carried between chunks.
# A row's id is its event key (la_pg_event_key: time to the ms, pid, severity, first
# line of the message) and its occurrence number among entries of the file with the same
# key, so the csvlog or jsonlog entry of the same event gets the same id (and merges
# into it). Hashing the first line rather than the whole entry keeps md5 off the long
# STATEMENT texts, and an overlapping export that cut an entry's last lines off still
# yields the same id.
# The whole raw entry is rebuilt for rejected entries only.
_ENTRIES_SQL = """
WITH
conts AS (
    -- tab-indented lines continuing the prefixed line above them (few)
    SELECT k.section, string_agg(substr(l.line, 2), chr(10) ORDER BY k.n) AS more
    FROM _la_pg_links k
    JOIN (SELECT rowid - $base AS n, line FROM _la_pg_lines
          WHERE rowid >= $lo + $base AND rowid <= $reach + $base AND kind = 'tab') l ON l.n = k.n
    WHERE k.kind = 'tab' AND k.section IS NOT NULL AND k.entry >= $lo AND k.entry < $hi
    GROUP BY k.section
),
-- the sections (DETAIL, STATEMENT, ...) of each multi-line entry, one row per entry
multi AS (
    -- (max of a CASE, not FILTER: the same values, one expression less per aggregate)
    SELECT entry,
        max(CASE WHEN sev = 'DETAIL' THEN sub_text END) AS detail,
        max(CASE WHEN sev = 'HINT' THEN sub_text END) AS hint,
        max(CASE WHEN sev = 'CONTEXT' THEN sub_text END) AS context,
        max(CASE WHEN sev = 'STATEMENT' THEN sub_text END) AS statement
    FROM (
        SELECT k.entry, k.sev,
            CASE WHEN c.more IS NULL THEN l.text ELSE l.text || chr(10) || c.more END AS sub_text
        FROM _la_pg_links k
        JOIN (SELECT rowid - $base AS n, substr(line, cut + 1) AS text FROM _la_pg_lines
              WHERE rowid >= $lo + $base AND rowid <= $reach + $base AND kind = 'sub') l ON l.n = k.n
        LEFT JOIN conts c ON c.section = k.n
        WHERE k.kind = 'sub' AND k.n <> k.entry AND k.entry >= $lo AND k.entry < $hi
    )
    GROUP BY entry
),
firsts AS (
    SELECT n, line, kind, sev, substr(line, cut + 1) AS msg, pid, ext_ts, f_ts, f_sqlstate, f_user, f_db, f_app, f_backend, f_session, f_command, f_client, f_host, f_query_id, f_free
    FROM (__HEADS__)
),
heads AS (
    SELECT h.n, h.line, h.kind, h.sev, h.pid, h.ext_ts, h.f_ts, h.f_sqlstate, h.f_user, h.f_db, h.f_app, h.f_backend, h.f_session, h.f_command, h.f_client, h.f_host, h.f_query_id,
        CASE WHEN c.more IS NULL THEN h.msg ELSE h.msg || chr(10) || c.more END AS text,
        m.detail, m.hint, m.context, m.statement,
        nullif(h.f_free, '') AS free_text
    FROM firsts h LEFT JOIN multi m ON m.entry = h.n LEFT JOIN conts c ON c.section = h.n
),
fields AS (
    SELECT n, line, ext_ts, kind, detail, hint, context,
        CASE WHEN sev IN ('ERROR', 'FATAL', 'PANIC', 'WARNING')
                  AND contains(text, ' at character ')
             THEN regexp_replace(text, ' at character \\d+$', '') ELSE text END AS message,
        CASE WHEN kind IN ('start', 'sub') THEN sev END AS severity,
        coalesce(statement, la_pg_message_statement(text)) AS statement,
        la_pg_duration_ms(text) AS duration_ms,
        CASE WHEN $has_ts THEN f_ts ELSE ext_ts END AS ts_text,
        nullif(f_sqlstate, '') AS logged_sqlstate,
        coalesce(nullif(f_user, ''),
                 nullif(regexp_extract(free_text, '(?:^|[ ,\\[])(?:user|usr)=([^, \\]]*)', 1), ''),
                 nullif(regexp_extract(free_text, '(?:^| )([^ @,=\\[\\]]+)@[^ @,=]+$', 1), '')) AS user_name,
        coalesce(nullif(f_db, ''),
                 nullif(regexp_extract(free_text, '(?:^|[ ,\\[])db=([^, \\]]*)', 1), ''),
                 nullif(regexp_extract(free_text, '(?:^| )[^ @,=\\[\\]]+@([^ @,=]+)$', 1), '')) AS database,
        coalesce(nullif(f_app, ''),
                 nullif(regexp_extract(free_text, '(?:^|[ ,\\[])(?:app|appli|application_name)=([^,\\]]*?)(?:,| \\S+=|$)', 1), '')) AS application_name,
        nullif(f_backend, '') AS backend_type,
        nullif(f_session, '') AS session_id,
        pid,
        nullif(f_command, '') AS command_tag,
        coalesce(nullif(f_client, ''),
                 nullif(f_host, ''),
                 nullif(regexp_extract(free_text, '(?:^|[ ,\\[])(?:client|host)=([^, \\]]*)', 1), '')) AS client,
        coalesce(nullif(f_query_id, ''),
                 nullif(regexp_extract(free_text, 'queryid=(-?\\d+)', 1), '')) AS query_id
    FROM heads
),
judged AS (
    -- macros on plain columns: a macro repeats its argument expression at each use
    SELECT *,
        CASE kind
            WHEN 'bad' THEN 'line does not fit log_line_prefix ' || $prefix_text
            WHEN 'tab' THEN 'continuation line with no log entry above it'
            ELSE CASE WHEN ts IS NULL AND $has_ts THEN 'unreadable timestamp: ' || ts_text END
        END AS _reject
    FROM (
        SELECT f.*,
            la_pg_connection_from(client) AS connection_from,
            la_pg_ts(ts_text, coalesce(z.minutes, la_pg_numeric_zone_minutes(la_pg_ts_zone(ts_text)))) AS ts
        FROM fields f LEFT JOIN _la_pg_zones z ON z.abbrev = upper(la_pg_ts_zone(ts_text))
    )
),
hashed AS MATERIALIZED (SELECT * FROM judged),
inferred AS (
    -- each distinct message once, on a narrow relation (la_infer_sqlstate is a subquery:
    -- on the wide rows DuckDB would carry every column through its join)
    SELECT message AS inferred_message, la_infer_sqlstate(message) AS inferred_sqlstate
    FROM (SELECT DISTINCT message FROM hashed
          WHERE logged_sqlstate IS NULL AND severity IN ('ERROR', 'FATAL', 'PANIC'))
),
rejected_raw AS (
    -- everything a rejected entry adds to its first line, for rejected_rows
    SELECT k.entry, string_agg(l.line, chr(10) ORDER BY k.n) AS more_raw
    FROM (SELECT n FROM hashed WHERE _reject IS NOT NULL OR ts IS NULL) r
    JOIN _la_pg_links k ON k.entry = r.n
    JOIN (SELECT rowid - $base AS n, line FROM _la_pg_lines
          WHERE rowid >= $lo + $base AND rowid <= $reach + $base) l ON l.n = k.n
    WHERE k.n <> k.entry AND k.entry >= $lo AND k.entry < $hi
    GROUP BY k.entry
)
SELECT n AS _line,
    CASE WHEN _reject IS NULL AND ts IS NOT NULL THEN NULL
         WHEN x.more_raw IS NULL THEN line ELSE line || chr(10) || x.more_raw END AS _raw,
    la_pg_event_key(ts, pid, severity, message) || '#' || coalesce(r.occurrence, 1) AS id,
    ts, severity,
    coalesce(logged_sqlstate, inferred_sqlstate) AS sqlstate,
    inferred_sqlstate IS NOT NULL AS sqlstate_inferred,
    message, detail, hint, context, statement, user_name, database, application_name,
    backend_type, session_id, pid, duration_ms, command_tag, connection_from, query_id,
    _reject
FROM hashed LEFT JOIN _la_pg_repeats r USING (n) LEFT JOIN rejected_raw x ON x.entry = n
    LEFT JOIN inferred ON inferred_message = message
        AND logged_sqlstate IS NULL AND severity IN ('ERROR', 'FATAL', 'PANIC')
""".replace("__HEADS__", _HEADS_SQL)

STAGE_CHUNK_LINES = 1_000_000
"""Lines per staged chunk: bounds the stage's working set (about 400 MB of a typical
server log) whatever the file's size."""


def _macros_sql() -> str:
    return resources.files("loganalyze.ingest").joinpath("postgres_macros.sql").read_text(encoding="utf-8")


def _install_macros(ctx: FileContext) -> None:
    ctx.execute(_macros_sql())


def _stage_text_lines(
    ctx: FileContext, lines_sql: str, lines_params: dict[str, object], choice: PrefixChoice
) -> None:
    """Parse, fold and stage stderr lines yielded by `lines_sql` (line, ext_ts: one row
    per line of the file, in order)."""
    compiled = choice.compiled
    params = compiled.sql_params()
    # Line numbers come from the order rows are stored in; a connection tuned with
    # preserve_insertion_order = false would scramble them, and with them every entry.
    # The parsed lines keep that order too, so each chunk below reads only its own
    # part of them (row groups are skipped by their range of line numbers).
    (in_order,) = ctx.execute("SELECT current_setting('preserve_insertion_order')").fetchone()  # type: ignore[misc]
    if not in_order:
        ctx.execute("SET preserve_insertion_order = true")
    try:
        ctx.execute(
            _parse_sql(compiled, lines_sql),
            {
                **lines_params,
                **{k: v for k, v in params.items()
                   if k == "g_sev" or k[2:] in compiled.groups and k[2:] != "severity"},
                "re": compiled.regex,
                "names": params["names"],
                "mark": SEVERITY_MARK_RE,
                "section_tags": list(SECTION_TAGS),
            },
        )
    finally:
        if not in_order:
            ctx.execute("SET preserve_insertion_order = false")
    # rows written inside a transaction do not start at rowid 0
    (base, last) = ctx.execute("SELECT coalesce(min(rowid), 0) - 1, count(*) FROM _la_pg_lines").fetchone()  # type: ignore[misc]
    ctx.execute(_LINK_SQL, {"base": base})
    ctx.execute(_REPEATS_SQL, {"has_ts": compiled.has_ts, "base": base, "lo": 1, "hi": int(last) + 1})
    for lo in range(1, int(last) + 1, STAGE_CHUNK_LINES):
        hi = lo + STAGE_CHUNK_LINES
        # the last line of the chunk's entries (a backend's STATEMENT may come after
        # lines of others): bounds each chunk's scan of the lines to its own part
        (reach,) = ctx.execute(
            "SELECT coalesce(max(n), $hi) FROM _la_pg_links WHERE entry >= $lo AND entry < $hi",
            {"lo": lo, "hi": hi},
        ).fetchone()  # type: ignore[misc]
        ctx.stage(
            "postgres_logs",
            _ENTRIES_SQL,
            {"has_ts": compiled.has_ts, "prefix_text": repr(compiled.prefix), "lo": lo, "hi": hi,
             "reach": reach, "base": base},
            unique_ids=True,
        )
    preamble = ctx.execute(
        "SELECT count(*), min_by(l.line, n) FROM _la_pg_links k "
        "JOIN (SELECT " + _LINE_N + " AS n, line FROM _la_pg_lines WHERE kind = 'foreign') l USING (n) "
        "WHERE k.kind = 'foreign' AND k.entry = n",
        {"base": base},
    ).fetchone()
    if preamble and preamble[0]:
        # A container's entrypoint or pg_ctl writes its own lines into the same stream
        # before the first log entry; they are not log entries and have nothing to join.
        ctx.note(f"skipped {preamble[0]} line(s) before the first log entry that are not "
                 f"PostgreSQL log lines, e.g. {preamble[1][:80]!r}")
    ctx.execute("DROP TABLE IF EXISTS _la_pg_lines")
    ctx.execute("DROP TABLE IF EXISTS _la_pg_links")
    ctx.execute("DROP TABLE IF EXISTS _la_pg_repeats")


def _choose(ctx: FileContext, lines: list[str], *, time_outside: bool) -> PrefixChoice:
    stated = ctx.options.log_line_prefix
    try:
        choice = choose_prefix(lines, stated=stated, time_outside=time_outside)
    except PrefixError as exc:
        raise ctx.fail(str(exc), hint="state the prefix as postgresql.conf has it, e.g. '%m [%p] %q%u@%d '") from None
    shown = repr(choice.compiled.prefix) + (" (free text up to the severity)" if choice.compiled.generic else "")
    if choice.stated:
        ctx.note(f"log_line_prefix {shown} as stated")
        if not choice.fits:
            ctx.note(f"the stated prefix fits {choice.matched} of {choice.considered} sampled lines")
    elif choice.fits:
        ctx.note(f"detected log_line_prefix {shown}")
    else:
        ctx.note(
            f"assumed log_line_prefix {shown}: it fits only {choice.matched} of "
            f"{choice.considered} sampled lines; lines that do not fit are rejected "
            "(state the prefix with --log-line-prefix)"
        )
    if not choice.compiled.has_pid:
        ctx.note("the prefix has no %p: DETAIL/STATEMENT lines are joined to the entry just above")
    if not time_outside and (not choice.compiled.has_pid or "%m" not in choice.compiled.prefix and "%n" not in choice.compiled.prefix):
        # csvlog and jsonlog copies of an event are recognised by its time to the ms and pid
        ctx.note("the prefix lacks %m (milliseconds) or %p: these entries are not matched with "
                 "csvlog/jsonlog copies of the same events; ingest one log_destination only")
    if "sqlstate" not in choice.compiled.groups:
        ctx.note("the prefix has no %e: SQLSTATEs of errors are inferred from the message text")
    return choice


def _sample_lines(sample: Sample) -> tuple[str, ...]:
    """The sample's lines; a first line longer than the whole sample (a huge statement)
    is still its line for sniffing, though cut."""
    if sample.lines:
        return sample.lines
    return tuple(sample.text.splitlines()[:1])


def _load_stderr(ctx: FileContext) -> None:
    _install_macros(ctx)
    lines, strip = _without_transport(_sample_lines(ctx.sample))
    if strip:
        ctx.note("docker logs transport prefixes (service column, --timestamps time) cut off")
    choice = _choose(ctx, lines, time_outside=False)
    _stage_text_lines(
        ctx,
        _READ_LINES,
        {"path": ctx.sql_path, "strip_transport": strip, "transport_re": TRANSPORT_PREFIX_RE},
        choice,
    )


_TRANSPORT = re.compile(TRANSPORT_PREFIX_RE)


def _without_transport(lines: Sequence[str]) -> tuple[list[str], bool]:
    """The sample's lines without docker transport prefixes, and whether most had one."""
    cuts = [_TRANSPORT.match(ln).end() for ln in lines]  # type: ignore[union-attr]
    if lines and sum(1 for c in cuts if c) * 2 >= len(lines):
        return [ln[c:] for ln, c in zip(lines, cuts, strict=True)], True
    return list(lines), False


# --------------------------------------------------------------------------- structured
# Canonical column order of the structured readers; csvlog's own order (its first 26).
CSV_COLUMNS = (
    "log_time", "user_name", "database_name", "process_id", "connection_from", "session_id",
    "session_line_num", "command_tag", "session_start_time", "virtual_transaction_id",
    "transaction_id", "error_severity", "sql_state_code", "message", "detail", "hint",
    "internal_query", "internal_query_pos", "context", "query", "query_pos", "location",
    "application_name", "backend_type", "leader_pid", "query_id",
)

# Normalized rows from `_la_pg_struct` (canonical columns + _line, _raw).
_STRUCT_SQL = """
SELECT _line, _raw,
    event_key || '#' || row_number() OVER (PARTITION BY event_key ORDER BY _line) AS id,
    ts,
    upper(error_severity) AS severity,
    coalesce(nullif(sql_state_code, ''), inferred_sqlstate) AS sqlstate,
    inferred_sqlstate IS NOT NULL AS sqlstate_inferred,
    message, nullif(detail, '') AS detail, nullif(hint, '') AS hint, nullif(context, '') AS context,
    coalesce(nullif(query, ''), la_pg_message_statement(message)) AS statement,
    nullif(user_name, '') AS user_name, nullif(database_name, '') AS database,
    nullif(application_name, '') AS application_name, nullif(backend_type, '') AS backend_type,
    nullif(session_id, '') AS session_id, try_cast(process_id AS BIGINT) AS pid,
    la_pg_duration_ms(message) AS duration_ms,
    nullif(command_tag, '') AS command_tag,
    la_pg_connection_from(nullif(connection_from, '')) AS connection_from,
    nullif(query_id, '') AS query_id,
    CASE WHEN error_severity IS NULL OR error_severity = '' THEN 'no error_severity'
         WHEN ts IS NULL AND log_time <> '' THEN 'unreadable timestamp: ' || log_time
    END AS _reject
FROM (
    SELECT *, la_pg_event_key(ts, try_cast(process_id AS BIGINT), upper(error_severity), message) AS event_key
    FROM (
        SELECT s.*, la_pg_ts(log_time, coalesce(z.minutes, la_pg_numeric_zone_minutes(la_pg_ts_zone(log_time)))) AS ts
        FROM _la_pg_struct s LEFT JOIN _la_pg_zones z ON z.abbrev = upper(la_pg_ts_zone(log_time))
    )
) LEFT JOIN (
    -- each distinct message once, on a narrow relation (la_infer_sqlstate is a subquery)
    SELECT message AS inferred_message, la_infer_sqlstate(message) AS inferred_sqlstate
    FROM (SELECT DISTINCT message FROM _la_pg_struct
          WHERE nullif(sql_state_code, '') IS NULL AND upper(error_severity) IN ('ERROR', 'FATAL', 'PANIC'))
) ON inferred_message = message
    AND nullif(sql_state_code, '') IS NULL AND upper(error_severity) IN ('ERROR', 'FATAL', 'PANIC')
"""


def _stage_struct(ctx: FileContext) -> None:
    ctx.stage("postgres_logs", _STRUCT_SQL, unique_ids=True)
    ctx.execute("DROP TABLE IF EXISTS _la_pg_struct")


def _load_csvlog(ctx: FileContext) -> None:
    _install_macros(ctx)
    width = _csv_width(ctx.sample)
    if width is None:
        raise ctx.fail("not a PostgreSQL csvlog (22 to 26 columns expected)")
    if width < 26:
        ctx.note(f"csvlog with {width} columns (PostgreSQL before 14): missing columns are empty")
    cols = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in (*CSV_COLUMNS, _BEYOND_26)) + "}"
    sep = " || chr(31) || "
    raw = sep.join(f"coalesce({c}, '')" for c in CSV_COLUMNS[:width])
    ctx.execute(
        "CREATE OR REPLACE TEMP TABLE _la_pg_struct AS SELECT row_number() OVER () AS _line, "
        + raw + " AS _raw, * FROM read_csv($path, columns = " + cols + ", header = false, "
        "delim = ',', quote = '\"', escape = '\"', null_padding = true, auto_detect = false, "
        "strict_mode = false, parallel = false, max_line_size = 67108864, buffer_size = 67108864)",
        {"path": ctx.sql_path},
    )
    _reject_malformed_csvlog(ctx, width)
    _stage_struct(ctx)


# A column after the 26 of PostgreSQL 17: any value in it means the entry has too many
# fields.
_BEYOND_26 = "_beyond_last_field"
# An entry whose text holds, at the start of a line, the start of another csvlog entry
# swallowed the entries after it (an unterminated quote).
_SWALLOWED_ENTRY = r"\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? ?[A-Za-z0-9:+-]*,"


def _reject_malformed_csvlog(ctx: FileContext, width: int) -> None:
    """Entries that do not parse into the file's `width` fields are rejected (kept in
    rejected_rows with their text), never stored with their neighbours merged in or with
    their missing fields read as empty."""
    beyond = CSV_COLUMNS[width] if width < len(CSV_COLUMNS) else _BEYOND_26
    last = "backend_type"
    # From PostgreSQL 13 on (24 fields and more) backend_type is never empty, so the few
    # entries without it were cut short (a truncated file); a file where more lack it
    # writes it empty, and there the test says nothing.
    (filled,) = ctx.execute(
        "SELECT count(*) - count(\"" + last + "\") <= greatest(1, count(*) // 100) "
        "AND count(\"" + last + "\") > 0 FROM _la_pg_struct"
    ).fetchone()
    short = '"' + last + '" IS NULL' if width >= 24 and filled else "false"
    malformed = '"' + beyond + '" IS NOT NULL OR regexp_matches(_raw, $swallowed) OR ' + short
    params = {"swallowed": _SWALLOWED_ENTRY, "width": width}
    ctx.reject_rows(
        "SELECT _line, CASE WHEN \"" + beyond + "\" IS NOT NULL "
        "THEN 'csvlog entry with more than ' || $width || ' fields (a broken quote?)' "
        "WHEN regexp_matches(_raw, $swallowed) "
        "THEN 'csvlog entry runs into the entries after it (an unterminated quote?)' "
        "ELSE 'csvlog entry with fewer than ' || $width || ' fields (cut short?)' END AS _reject, "
        "_raw FROM _la_pg_struct WHERE " + malformed,
        params,
    )
    ctx.execute("DELETE FROM _la_pg_struct WHERE " + malformed, {"swallowed": _SWALLOWED_ENTRY})


# JSON paths of the canonical columns: jsonlog keys, CloudNativePG `record` keys.
_JSONLOG_PATHS = {
    "log_time": "$.timestamp", "user_name": "$.user", "database_name": "$.dbname",
    "process_id": "$.pid", "remote_host": "$.remote_host", "remote_port": "$.remote_port",
    "session_id": "$.session_id", "command_tag": "$.ps", "error_severity": "$.error_severity",
    "sql_state_code": "$.state_code", "message": "$.message", "detail": "$.detail",
    "hint": "$.hint", "context": "$.context", "query": "$.statement",
    "application_name": "$.application_name", "backend_type": "$.backend_type",
    "query_id": "$.query_id",
}
_CNPG_PATHS = {
    k: "$.record." + v
    for k, v in {
        "log_time": "log_time", "user_name": "user_name", "database_name": "database_name",
        "process_id": "process_id", "remote_host": "connection_from", "remote_port": "no_such_key",
        "session_id": "session_id", "command_tag": "command_tag",
        "error_severity": "error_severity", "sql_state_code": "sql_state_code",
        "message": "message", "detail": "detail", "hint": "hint", "context": "context",
        "query": "query", "application_name": "application_name",
        "backend_type": "backend_type", "query_id": "query_id",
    }.items()
}
_JSON_KEYS = tuple(_JSONLOG_PATHS)

_JSON_STRUCT_SQL = (
    "CREATE OR REPLACE TEMP TABLE _la_pg_struct AS SELECT _line, CAST(j AS VARCHAR) AS _raw, "
    + ", ".join(
        (f"coalesce(v[{i + 1}], $missing_state_code)" if k == "sql_state_code" else f"v[{i + 1}]") + " AS " + k
        for i, k in enumerate(_JSON_KEYS)
        if k not in ("remote_host", "remote_port")
    )
    + ", CASE WHEN v[6] IS NULL THEN v[5] ELSE v[5] || ':' || v[6] END AS connection_from "
    "FROM (SELECT _line, j, json_extract_string(j, $paths) AS v FROM ("
    "SELECT row_number() OVER () AS _line, json AS j FROM read_json_objects($path, "
    "format = 'newline_delimited', maximum_object_size = 67108864)) WHERE __FILTER__)"
)


def _load_jsonlog(ctx: FileContext) -> None:
    _install_macros(ctx)
    ctx.execute(
        _JSON_STRUCT_SQL.replace("__FILTER__", "true"),
        # jsonlog leaves state_code out when it is 00000 (successful completion)
        {"path": ctx.sql_path, "paths": [_JSONLOG_PATHS[k] for k in _JSON_KEYS],
         "missing_state_code": "00000"},
    )
    _stage_struct(ctx)


def _load_cnpg(ctx: FileContext) -> None:
    """CloudNativePG: `record` = the csvlog fields; the instance manager's own lines
    (logger setup, wal-archive, ...) are not PostgreSQL log entries; PostgreSQL's stderr
    before the collector starts arrives as `msg` of logger `postgres`."""
    _install_macros(ctx)
    ctx.execute(
        _JSON_STRUCT_SQL.replace("__FILTER__", "(j->'record') IS NOT NULL"),
        {"path": ctx.sql_path, "paths": [_CNPG_PATHS[k] for k in _JSON_KEYS], "missing_state_code": None},
    )
    _stage_struct(ctx)
    raw_lines = [
        obj.get("msg", "")
        for obj in _sample_objects(ctx.sample)
        if obj.get("logger") == "postgres" and "record" not in obj
    ]
    if raw_lines:
        choice = choose_prefix(raw_lines)
        ctx.note(f"PostgreSQL stderr lines in the envelope read with log_line_prefix {choice.compiled.prefix!r}")
        _stage_text_lines(
            ctx,
            _READ_ENVELOPE_LINES,
            {"path": ctx.sql_path, "text_path": "$.msg", "ts_path": "$.ts", "only_logger": "postgres",
             "json_format": "newline_delimited"},
            choice,
        )
    skipped = ctx.execute(
        "SELECT count(*) FROM read_json_objects($path, format = 'newline_delimited', "
        "maximum_object_size = 67108864) WHERE (json->'record') IS NULL "
        "AND coalesce(json_extract_string(json, '$.logger'), '') <> 'postgres'",
        {"path": ctx.sql_path},
    ).fetchone()
    if skipped and skipped[0]:
        ctx.note(f"{skipped[0]} CloudNativePG instance-manager lines (not PostgreSQL log entries) skipped")


def _load_cloudsql(ctx: FileContext) -> None:
    """Google Cloud SQL via Cloud Logging: one JSON entry per stderr line, the time in
    `timestamp`, the line without its time in `textPayload`."""
    _install_macros(ctx)
    lines = [str(obj.get("textPayload", "")) for obj in _sample_objects(ctx.sample)]
    if ctx.sample.first_char == "[":
        lines = [str(obj.get("textPayload", "")) for obj in _sample_array_objects(ctx.sample)]
    choice = _choose(ctx, lines, time_outside=True)
    _stage_text_lines(
        ctx,
        _READ_ENVELOPE_LINES,
        {"path": ctx.sql_path, "text_path": "$.textPayload", "ts_path": "$.timestamp", "only_logger": None,
         "json_format": "array" if ctx.sample.first_char == "[" else "newline_delimited"},
        choice,
    )


# --------------------------------------------------------------------------- sniffing
_CSV_TS = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? ?\S*$")


def _csv_width(sample: Sample) -> int | None:
    text = sample.text.lstrip("\ufeff")
    try:
        first = next(csv.reader(io.StringIO(text)))
    except (csv.Error, StopIteration):
        return None
    if not 22 <= len(first) <= 26:
        return None
    if not _CSV_TS.match(first[0]) or first[11] not in SEVERITIES:
        return None
    return len(first)


def _sniff_csvlog(sample: Sample) -> int:
    return 95 if _csv_width(sample) else 0


def _sample_objects(sample: Sample) -> list[dict]:
    out = []
    for ln in sample.lines[:2000]:
        try:
            obj = json.loads(ln)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _sniff_jsonlog(sample: Sample) -> int:
    if sample.first_char != "{":
        return 0
    objs = _sample_objects(sample)[:20]
    if objs and all({"timestamp", "error_severity", "message"} <= set(o) for o in objs):
        return 95
    return 0


def _sniff_cnpg(sample: Sample) -> int:
    if sample.first_char != "{":
        return 0
    objs = _sample_objects(sample)
    records = [o for o in objs if isinstance(o.get("record"), dict) and "error_severity" in o["record"]]
    if records and all("logging_pod" in o or "logger" in o for o in objs[:20]):
        return 95
    return 0


def _sample_array_objects(sample: Sample) -> list[dict]:
    """The complete objects at the start of a JSON array sample."""
    return [obj for obj in leading_json_values(sample, 2000) if isinstance(obj, dict)]


def _sniff_cloudsql(sample: Sample) -> int:
    if sample.first_char not in "{[":
        return 0
    objs = (_sample_objects(sample) if sample.first_char == "{" else _sample_array_objects(sample))[:20]
    if objs and all("textPayload" in o and "timestamp" in o for o in objs) and any(
        "cloudsql" in str(o.get("logName", "")) or "cloudsql" in json.dumps(o.get("resource", ""))
        for o in objs
    ):
        return 95
    return 0


def _sniff_stderr(sample: Sample) -> int:
    if sample.first_char in "[{" or not _sample_lines(sample):
        return 0
    lines, _ = _without_transport(_sample_lines(sample))
    share = looks_like_stderr(lines)
    if share == 0:
        return 0
    choice = choose_prefix(lines)
    if choice.fits:
        return 90
    # A severity mark on most lines but no known prefix: still Postgres; the load says
    # which prefix it assumed and rejects the lines that do not fit.
    return 40 if share >= 0.5 else 15


register(LogFormat(
    name="postgres-stderr",
    description="PostgreSQL stderr log, any log_line_prefix (detected, or --log-line-prefix), incl. Amazon RDS",
    sniff=_sniff_stderr, load=_load_stderr, tables=TABLES,
    example="loganalyze ingest /var/log/postgresql/postgresql-16-main.log",
))
register(LogFormat(
    name="postgres-csvlog",
    description="PostgreSQL csvlog (22 to 26 columns, PostgreSQL 8.4 to 17)",
    sniff=_sniff_csvlog, load=_load_csvlog, tables=TABLES,
    example="loganalyze ingest log/postgresql-2026-11-20.csv",
))
register(LogFormat(
    name="postgres-jsonlog",
    description="PostgreSQL jsonlog (PostgreSQL 15+)",
    sniff=_sniff_jsonlog, load=_load_jsonlog, tables=TABLES,
    example="loganalyze ingest log/postgresql-2026-11-20.json",
))
register(LogFormat(
    name="postgres-cnpg",
    description="CloudNativePG pod logs (JSON lines, `record` = csvlog fields)",
    sniff=_sniff_cnpg, load=_load_cnpg, tables=TABLES,
    example="loganalyze ingest cnpg-pod.log",
))
register(LogFormat(
    name="postgres-cloudsql",
    description="Google Cloud SQL PostgreSQL logs from Cloud Logging (JSON lines with textPayload)",
    sniff=_sniff_cloudsql, load=_load_cloudsql, tables=TABLES,
    example="loganalyze ingest cloudsql-postgres.log.gz",
))
