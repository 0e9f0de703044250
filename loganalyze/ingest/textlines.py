"""Reading text logs as numbered lines, shared by every line-oriented reader: DuckDB's
CSV reader with no quoting and no delimiter gives each line, `row_number()` its number
(the reader preserves order); transport prefixes added by `docker compose logs` and
`docker logs --timestamps` are split off; rows without a source id get a deterministic
one."""

from __future__ import annotations

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

# `docker compose logs` service column, then `docker logs --timestamps` time: the
# transport prefix before the container's own line (matched alone: a regex capturing
# the rest of the line costs several times more than the whole read).
TRANSPORT_PREFIX_RE = (
    r"^(?:[A-Za-z0-9][\w.-]*\s+\|\s?)?"
    r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)\s)?"
)

# Every line split into the docker timestamp ('' when absent) and the container's line.
SPLIT_LINES_SQL = """
SELECT _line, line,
       CASE WHEN prefix = '' THEN '' ELSE regexp_extract(prefix, '(\\d{4}-\\d\\d-\\d\\dT\\S+)', 1) END
           AS docker_time,
       substr(line, length(prefix) + 1) AS body
FROM (SELECT _line, line, regexp_extract(line, $prefix_re) AS prefix FROM (""" + TEXT_LINES_SQL + """))
"""

# A deterministic row id for sources without one: the same line at the same time gets
# the same id in every file (re-ingest and overlapping exports add nothing), while
# repeated identical lines within one file stay distinct through their occurrence index
# (counted per 64-bit hash: a collision only shifts a counter, the md5 keeps ids apart).
# Expects columns `body` (the line without transport prefixes), `ts` and `_line`.
LINE_ID_SQL = (
    "md5(concat_ws('|', body, CAST(ts AS VARCHAR))) || '#' || "
    "row_number() OVER (PARTITION BY hash(body), ts ORDER BY _line)"
)
