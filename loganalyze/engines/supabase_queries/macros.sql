-- The ingest rules of loganalyze/ingest/macros.sql that the hosted-table views of
-- _tables.sql need, in ClickHouse SQL. The Supabase log store runs no CREATE FUNCTION, so
-- these (and loganalyze/engines/clickhouse/macros.sql) are expanded into the query text
-- before it is sent. Statements are separated by a line holding only `;`.

-- la_nullif_text: an attribute's value, NULL when empty or the text 'null'.
CREATE OR REPLACE FUNCTION sb_text AS (x) -> nullIf(nullIf(x, ''), 'null')
;
-- la_double / la_int: a number that may arrive as text; DuckDB's DOUBLE → BIGINT cast
-- rounds half away from zero (det_round).
CREATE OR REPLACE FUNCTION sb_double AS (x) -> toFloat64OrNull(trimBoth(x))
;
CREATE OR REPLACE FUNCTION sb_int AS (x) -> det_round(toFloat64OrNull(trimBoth(x)))
;
-- la_not_number: present but not a number; ingest rejects such a row.
CREATE OR REPLACE FUNCTION sb_not_number AS (x) ->
    x IS NOT NULL AND trimBoth(x) NOT IN ('', 'null') AND toFloat64OrNull(trimBoth(x)) IS NULL
;
-- A key of the GoTrue JSON line held in event_message, as DuckDB's json_extract_string
-- reads it: text for a string, the JSON text of any other value, NULL when absent.
CREATE OR REPLACE FUNCTION sb_line AS (line, key) -> if(isValidJSON(line),
    multiIf(JSONType(line, key) = 'String', JSONExtractString(line, key),
            JSONHas(line, key), JSONExtractRaw(line, key), NULL), NULL)
;
CREATE OR REPLACE FUNCTION sb_line2 AS (line, key, sub) -> if(isValidJSON(line),
    multiIf(JSONType(line, key, sub) = 'String', JSONExtractString(line, key, sub),
            JSONHas(line, key, sub), JSONExtractRaw(line, key, sub), NULL), NULL)
;
-- la_auth_path: GoTrue's path with the /auth/v1 prefix the gateway strips.
CREATE OR REPLACE FUNCTION sb_auth_path AS (p) -> multiIf(
    p IS NULL OR p = '', NULL,
    startsWith(p, '/auth/v1'), p,
    startsWith(p, '/'), concat('/auth/v1', p),
    concat('/auth/v1/', p))
;
-- la_em_url / la_em_part: fallbacks from a gateway row's summary line
-- `METHOD | STATUS | [IP | RAY |] URL | UA`.
CREATE OR REPLACE FUNCTION sb_em_url AS (parts) ->
    nullIf(arrayFirst(p -> match(p, '^[a-z]+://'), parts), '')
;
CREATE OR REPLACE FUNCTION sb_em_part AS (parts, i, min_parts) ->
    if(length(parts) >= min_parts, parts[i], NULL)
;
