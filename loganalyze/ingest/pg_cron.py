"""pg_cron run history: `cron.job_run_details` exported as CSV (psql
`\\copy (...) to 'runs.csv' csv header`, Studio "Download CSV"), as JSON (Studio
"Download JSON", `json_agg`, one `row_to_json` per line), or pasted from psql's table
display (unicode or ASCII borders) or its expanded display (`\\x`), into cron_runs.

`ts` is `start_time`, else `end_time`; a run that never started ("connection failed")
has neither and keeps `ts` NULL. `status` is stored as pg_cron writes it (`starting`,
`running`, `sending`, `connecting`, `succeeded`, `failed`). The row id is
`jobid:runid` (runid is the table's key), so re-exports of overlapping ranges add
nothing.
"""

from __future__ import annotations

import csv
import io
import json
import re

from .core import FileContext, LogFormat, register
from .files import Sample
from .textlines import TEXT_LINES_SQL
from .vercel import first_object_keys, json_docs, parsed_docs_sql

CRON_COLUMNS = (
    "jobid", "runid", "job_pid", "database", "username", "command", "status",
    "return_message", "start_time", "end_time",
)
CRON_FIELDS = json.dumps({c: "VARCHAR" for c in CRON_COLUMNS})

_CSV_DOCS = (
    "SELECT row_number() OVER () + 1 AS _line, CAST(to_json(t) AS VARCHAR) AS doc "
    "FROM read_csv($path, header = true, all_varchar = true, delim = ',', quote = '\"', "
    "escape = '\"', strict_mode = true) AS t"
)

# psql's aligned table: the first bordered row names the columns, the later ones are
# runs; borders, the echoed query and the `(N rows)` footer are display, not data.
_PSQL_TABLE_DOCS = """
SELECT _line, CAST(to_json(map(first(cells) OVER (ORDER BY _line), cells)) AS VARCHAR) AS doc,
       row_number() OVER (ORDER BY _line) AS table_row
FROM (
    SELECT _line,
           list_transform(string_split(trim(trim(line), '│|'), CASE WHEN contains(line, '│') THEN '│' ELSE '|' END),
                          lambda c: trim(c)) AS cells
    FROM (""" + TEXT_LINES_SQL + """)
    WHERE contains(line, '│') OR regexp_matches(line, '^\\s*[^|]+(\\|[^|]*)+$')
)
QUALIFY table_row > 1
"""

# psql's expanded display (`\\x`): a `-[ RECORD n ]` line heads each run, then one
# `column | value` line per column; a value spanning lines continues on lines with an
# empty column name, the line before ending in `+` (`↵` with unicode borders).
_RECORD_HEADER_RE = r"^\s*[-─┌├└╔╠]*\[ RECORD \d+ \]"
_PSQL_EXPANDED_DOCS = """
SELECT min(_line) AS _line,
       CAST(to_json(map_from_entries(list({'k': key, 'v': val} ORDER BY _line))) AS VARCHAR) AS doc
FROM (
    SELECT record, key, min(_line) AS _line, string_agg(val, chr(10) ORDER BY _line) AS val
    FROM (
        SELECT _line, record, val,
               last_value(nullif(k, '') IGNORE NULLS) OVER (PARTITION BY record ORDER BY _line) AS key
        FROM (
            SELECT _line, line, header,
                   sum(CASE WHEN header THEN 1 ELSE 0 END) OVER (ORDER BY _line) AS record,
                   trim(regexp_extract(line, '^\\s*[│║]?([^|│║]*)[|│║]', 1)) AS k,
                   regexp_replace(regexp_extract(line, '^\\s*[│║]?[^|│║]*[|│║] ?(.*?)\\s*[│║]?\\s*$', 1),
                                  '\\s*[+↵]$', '') AS val
            FROM (SELECT _line, line, regexp_matches(line, $record_re) AS header FROM (""" + TEXT_LINES_SQL + """))
        )
        WHERE NOT header AND record > 0 AND regexp_matches(line, '[|│║]')
    )
    GROUP BY record, key
)
GROUP BY record
"""

_SELECT_SQL = parsed_docs_sql(CRON_FIELDS, "r") + """,
cells AS (
    SELECT _line, doc, r,
           CASE WHEN upper(r.start_time) = 'NULL' THEN NULL ELSE la_nullif_text(r.start_time) END AS start_text,
           CASE WHEN upper(r.end_time) = 'NULL' THEN NULL ELSE la_nullif_text(r.end_time) END AS end_text,
           CASE WHEN upper(r.return_message) = 'NULL' THEN NULL ELSE la_nullif_text(r.return_message) END
               AS return_message
    FROM parsed
)
SELECT _line, doc AS _raw,
       CASE WHEN la_int(r.runid) IS NOT NULL
            THEN 'cron:' || coalesce(CAST(la_int(r.jobid) AS VARCHAR), '') || ':' || CAST(la_int(r.runid) AS VARCHAR)
            ELSE 'cron:' || md5(doc) || '#' || row_number() OVER (PARTITION BY doc ORDER BY _line)
       END AS id,
       coalesce(la_ts(start_text), la_ts(end_text)) AS ts,
       la_int(r.jobid) AS jobid, la_int(r.runid) AS runid, la_int(r.job_pid) AS job_pid,
       la_nullif_text(r.database) AS database, la_nullif_text(r.username) AS username,
       la_nullif_text(r.command) AS command, la_nullif_text(r.status) AS status,
       return_message,
       la_ts(start_text) AS start_time, la_ts(end_text) AS end_time,
       CASE WHEN r IS NULL THEN 'not a JSON object'
            WHEN r.jobid IS NULL AND r.runid IS NULL THEN 'no jobid or runid: not a job_run_details row'
            WHEN la_not_number(r.jobid) THEN 'jobid is not a number: ' || r.jobid
            WHEN la_not_number(r.runid) THEN 'runid is not a number: ' || r.runid
            WHEN start_text IS NOT NULL AND la_ts(start_text) IS NULL THEN 'unreadable start_time: ' || start_text
            WHEN end_text IS NOT NULL AND la_ts(end_text) IS NULL THEN 'unreadable end_time: ' || end_text
       END AS _reject
FROM cells
"""


def _is_psql_expanded(sample: Sample) -> bool:
    return any(re.match(_RECORD_HEADER_RE, ln) for ln in sample.lines[:5])


def _is_psql_table(sample: Sample) -> bool:
    return any(ln.lstrip().startswith(("┌", "│")) or re.match(r"^\s*-+(\+-+)+\s*$", ln) for ln in sample.lines[:20])


def _csv_header(sample: Sample) -> set[str]:
    if not sample.lines or sample.first_char in "[{":
        return set()
    try:
        return {h.strip().lower() for h in next(csv.reader(io.StringIO(sample.lines[0])))}
    except (csv.Error, StopIteration):
        return set()


def _load(ctx: FileContext) -> None:
    params: dict[str, object] = {"path": ctx.sql_path}
    if ctx.sample.first_char in "[{":
        docs, params = json_docs(ctx)
    elif _is_psql_expanded(ctx.sample):
        docs = _PSQL_EXPANDED_DOCS
        params["record_re"] = _RECORD_HEADER_RE
        ctx.note("read from psql's expanded display (\\x): values are trimmed")
    elif _is_psql_table(ctx.sample):
        docs = "SELECT _line, doc FROM (" + _PSQL_TABLE_DOCS + ")"
        ctx.note("read from psql's table display: cells are trimmed and '|' in a command splits it")
    else:
        docs = _CSV_DOCS
    ctx.stage("cron_runs", "WITH docs AS (" + docs + "), " + _SELECT_SQL, params)


_MARKERS = {"jobid", "runid", "return_message"}


def _sniff(sample: Sample) -> int:
    if sample.first_char in "[{":
        keys = first_object_keys(sample)
        return 90 if len(keys & _MARKERS) >= 2 else 0
    if _is_psql_expanded(sample):
        names = {re.split(r"[|│║]", ln.strip(" │║"))[0].strip() for ln in sample.lines[:40] if re.search(r"[|│║]", ln)}
        return 95 if len(names & _MARKERS) >= 2 else 0
    if len(_csv_header(sample) & _MARKERS) >= 2:
        return 90
    if _is_psql_table(sample):
        header = next((ln for ln in sample.lines[:20] if "│" in ln or " | " in ln), "")
        cells = {c.strip() for c in re.split(r"[│|]", header)}
        return 80 if len(cells & _MARKERS) >= 2 else 0
    return 0


register(LogFormat(
    name="pg-cron",
    description="pg_cron cron.job_run_details exported as CSV or JSON (or psql's table or expanded display)",
    sniff=_sniff, load=_load, tables=("cron_runs",),
    example="psql -c \"\\copy (select * from cron.job_run_details) to 'cron_runs.csv' csv header\" "
    "&& loganalyze ingest cron_runs.csv",
))
