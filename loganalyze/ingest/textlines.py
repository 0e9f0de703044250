"""Reading text logs as numbered lines, shared by every line-oriented reader.

A reader parses every line of the file straight from DuckDB's CSV reader (no quoting,
no delimiter: one value per line) into the temporary table `_la_parsed`, in parallel;
the table keeps the file's order, so a row's line number is its rowid's distance from
the first row's (`LINE_NUMBER_SQL`), and no window over the whole file is needed to
number lines. Transport prefixes added by
`docker compose logs` and `docker logs --timestamps` are split off. The reader then
stages its rows from that table.

Rows without a source id get a deterministic one: the md5 of the line (without transport
prefixes) and its time, plus the occurrence number among lines of the same file with the
same text and time. The same line at the same time gets the same id in every file
(re-ingest and overlapping exports add nothing), while repeated identical lines stay
distinct. Occurrence numbers are counted only where a line's 64-bit hash repeats within
the file (few lines; a collision only shifts a counter, the md5 keeps ids apart); every
other line is occurrence 1.
"""

from __future__ import annotations

from typing import Any

from .core import FileContext

PARSED_TABLE = "_la_parsed"

# Every line of the file, in order (blank lines too: they keep the numbering; readers
# skip them with NONBLANK_SQL). `new_line = '\r\n'` accepts LF and CRLF files alike and
# drops the CR itself.
READ_LINES_SQL = r"""read_csv($path, columns = {'line': 'VARCHAR'}, delim = '\0', header = false,
                  quote = '', escape = '', auto_detect = false, strict_mode = false,
                  new_line = '\r\n', max_line_size = 67108864)"""

# Every non-blank line of the file, numbered from 1 (blank lines keep their number). For
# small inputs read once (psql tables); the big ones go through `parse_lines`.
TEXT_LINES_SQL = (
    "SELECT _line, line FROM (SELECT row_number() OVER () AS _line, line FROM "
    + READ_LINES_SQL + ") WHERE ltrim(line) <> ''"
)

# A line (after its transport prefix) with any non-space character (NULL for an empty
# line). ltrim, unlike trim,
# does not copy every line.
NONBLANK_SQL = "ltrim(body) <> ''"

# `docker compose logs` service column, then `docker logs --timestamps` time: the
# transport prefix before the container's own line (matched alone: a regex capturing
# the rest of the line costs several times more than the whole read).
TRANSPORT_PREFIX_RE = (
    r"^(?:[A-Za-z0-9][\w.-]*\s+\|\s?)?"
    r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)\s)?"
)

# Each line split into its transport prefix ('' when absent: the raw line is
# `transport || body`), the docker timestamp in it ('' when absent) and the container's
# line (`body`); a line without a prefix is its own body (no copy).
SPLIT_LINES_SQL = """
SELECT transport,
       CASE WHEN transport = '' THEN '' ELSE regexp_extract(transport, '(\\d{4}-\\d\\d-\\d\\dT\\S+)', 1) END
           AS docker_time,
       CASE WHEN transport = '' THEN line ELSE substr(line, length(transport) + 1) END AS body
FROM (SELECT line, regexp_extract(line, $prefix_re) AS transport FROM """ + READ_LINES_SQL + """)
"""

# Occurrence numbers of repeated lines, for `LINE_ID_SQL`: over `_la_parsed` rows with
# columns `_key` (hash of the text the id hashes), `ts` and `_blank`.
REPEATS_CTE = """repeats AS (
    SELECT rowid AS _row, row_number() OVER (PARTITION BY _key, ts ORDER BY rowid) AS occurrence
    FROM _la_parsed
    WHERE NOT _blank AND _key IN (
        SELECT _key FROM _la_parsed WHERE NOT _blank GROUP BY _key HAVING count(*) > 1)
)"""

# The line number of `_la_parsed` row `p` (rows written inside a transaction do not
# start at rowid 0).
LINE_NUMBER_SQL = "(p.rowid - $first_rowid + 1)"

# The id of a `_la_parsed` row `p` joined to `repeats` as `r` (see the module doc).
LINE_ID_SQL = (
    "md5(concat_ws('|', p.body, CAST(p.ts AS VARCHAR))) || '#' || coalesce(r.occurrence, 1)"
)


def timestamp_sql(text_column: str) -> str:
    """SQL for the instant in `text_column` (a column name of this package): ISO-8601 text
    by a plain cast, anything else by `la_ts` (the cast is several times cheaper and
    gives la_ts's result wherever it succeeds)."""
    return "coalesce(try_cast(" + text_column + " AS TIMESTAMPTZ), la_ts(" + text_column + "))"


def parse_lines(ctx: FileContext, select_sql: str, params: dict[str, Any]) -> dict[str, Any]:
    """Create `_la_parsed` from `select_sql` (one row per line of the file, in file
    order, reading `READ_LINES_SQL` without filtering or windows); returns the
    parameters that `LINE_NUMBER_SQL` needs."""
    # Line numbers come from the order rows are stored in; a connection tuned with
    # preserve_insertion_order = false would scramble them.
    (in_order,) = ctx.execute("SELECT current_setting('preserve_insertion_order')").fetchone()  # type: ignore[misc]
    if not in_order:
        ctx.execute("SET preserve_insertion_order = true")
    try:
        ctx.execute("CREATE OR REPLACE TEMP TABLE " + PARSED_TABLE + " AS " + select_sql, params)
    finally:
        if not in_order:
            ctx.execute("SET preserve_insertion_order = false")
    (first,) = ctx.execute("SELECT coalesce(min(rowid), 0) FROM " + PARSED_TABLE).fetchone()  # type: ignore[misc]
    return {"first_rowid": first}


def drop_parsed(ctx: FileContext) -> None:
    ctx.execute("DROP TABLE IF EXISTS " + PARSED_TABLE)
