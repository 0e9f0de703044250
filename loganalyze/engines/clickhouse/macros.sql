-- The engine-specific pieces of the detectors on ClickHouse: one SQL user-defined function
-- per piece of queries/_macros.sql that is a scalar expression. Each mirrors the DuckDB
-- macro of the same name; the comments there say what each rule means.
-- Statements are separated by a line holding only `;`. Regular expressions are RE2 on both
-- engines; backslashes are doubled because a ClickHouse string literal reads `\b` as a
-- backspace. Only deterministic functions valid on every shard are used, so the functions
-- work under distributed execution (create them ON CLUSTER there, see docs/scale-out.md).

-- time_bucket(width, ts, origin) with integer microseconds: floor division, so times
-- before the origin fall into the bucket that contains them, as in DuckDB.
CREATE OR REPLACE FUNCTION det_bucket AS (ts, width_us, origin_us) ->
    fromUnixTimestamp64Micro(
        origin_us + width_us * intDiv(toUnixTimestamp64Micro(ts) - origin_us
                                      - if(toUnixTimestamp64Micro(ts) < origin_us, width_us - 1, 0),
                                      width_us),
        'UTC')
;
CREATE OR REPLACE FUNCTION det_rest_table AS (path) ->
    nullIf(regexpExtract(path, '^/rest/v1/(?:rpc/)?([^/?]+)', 1), '')
;
CREATE OR REPLACE FUNCTION det_relation AS (message, statement) -> coalesce(
    nullIf(regexpExtract(message, 'column "?([A-Za-z0-9_]+)"?\\."?[A-Za-z0-9_]+"? does not exist', 1), ''),
    nullIf(regexpExtract(message, 'of relation "(?:[A-Za-z0-9_]+\\.)?([A-Za-z0-9_]+)"', 1), ''),
    nullIf(regexpExtract(message, 'relation "(?:[A-Za-z0-9_]+\\.)?([A-Za-z0-9_]+)" does not exist', 1), ''),
    nullIf(regexpExtract(message, 'column of ''(?:[A-Za-z0-9_]+\\.)?([A-Za-z0-9_]+)'' in the schema cache', 1), ''),
    nullIf(regexpExtract(message, 'table ''(?:[A-Za-z0-9_]+\\.)?([A-Za-z0-9_]+)'' in the schema cache', 1), ''),
    nullIf(regexpExtract(message, 'Column ''[A-Za-z0-9_]+'' of relation ''([A-Za-z0-9_]+)''', 1), ''),
    nullIf(regexpExtract(statement, '(?i)\\b(?:into|update|from)\\s+(?:"?[A-Za-z0-9_]+"?\\.)?"?([A-Za-z0-9_]+)"?', 1), ''),
    nullIf(regexpExtract(message, 'unique constraint "([A-Za-z0-9_]+?)_(?:pkey|key|[A-Za-z0-9_]*_key)"', 1), '')
)
;
CREATE OR REPLACE FUNCTION det_column AS (message) -> coalesce(
    nullIf(regexpExtract(message, 'column "?[A-Za-z0-9_]+"?\\."?([A-Za-z0-9_]+)"? does not exist', 1), ''),
    nullIf(regexpExtract(message, 'column "([A-Za-z0-9_]+)"', 1), ''),
    nullIf(regexpExtract(message, 'find the ''([A-Za-z0-9_]+)'' column', 1), ''),
    nullIf(regexpExtract(message, 'Column ''([A-Za-z0-9_]+)''', 1), ''),
    nullIf(regexpExtract(message, 'has no field "([A-Za-z0-9_]+)"', 1), '')
)
;
CREATE OR REPLACE FUNCTION det_constraint AS (message) ->
    nullIf(regexpExtract(message, 'constraint "([^"]+)"', 1), '')
;
CREATE OR REPLACE FUNCTION det_normalize_message AS (message) -> replaceRegexpAll(
    replaceRegexpAll(
        replaceRegexpOne(trimBoth(message), '\\s+at character \\d+$', ''),
        '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>'),
    '\\b\\d+\\b', 'N')
;
CREATE OR REPLACE FUNCTION det_status_sqlstate AS (status) ->
    if(status = 409, '23505', NULL)
;
CREATE OR REPLACE FUNCTION det_status_class AS (status) -> multiIf(
    status = 400, '400',
    status IN (401, 403), '401/403',
    status = 409, '409',
    status = 429, '429',
    status BETWEEN 500 AND 599, '5xx',
    status BETWEEN 400 AND 499, '4xx other',
    NULL)
;
-- The most frequent non-null value of an array (DuckDB's mode()); ties go to the smallest
-- value, so every engine and shard picks the same one.
CREATE OR REPLACE FUNCTION det_mode AS (values) -> if(empty(values), NULL,
    arraySort(x -> (-countEqual(values, x), x), arrayDistinct(values))[1])
;
-- DuckDB's DOUBLE → BIGINT cast rounds half away from zero; ClickHouse's round() rounds
-- half to even, so the rule is spelled out.
CREATE OR REPLACE FUNCTION det_round AS (x) ->
    toInt64(if(x >= 0, floor(x + 0.5), ceil(x - 0.5)))
;
-- ts + a number of milliseconds, as DuckDB's ts + to_milliseconds(x::BIGINT).
CREATE OR REPLACE FUNCTION det_plus_ms AS (ts, ms) ->
    ts + toIntervalMillisecond(det_round(coalesce(ms, 0)))
;
CREATE OR REPLACE FUNCTION det_caller AS (client_info, user_agent) -> multiIf(
    client_info ILIKE 'supabase-js-node/%' OR client_info ILIKE '%createServerClient%', 'server',
    client_info ILIKE 'supabase-js-web/%' OR client_info ILIKE '%createBrowserClient%'
        OR user_agent ILIKE 'Mozilla/%', 'browser',
    user_agent ILIKE 'node%' OR user_agent ILIKE 'undici%', 'server',
    'other')
;
CREATE OR REPLACE FUNCTION det_ray AS (id) ->
    nullIf(replaceRegexpOne(id, '-[A-Za-z]{3}$', ''), '')
;
;
-- How an API gateway call is classified (the rules of queries/_macros.sql, one place each).
CREATE OR REPLACE FUNCTION det_is_db_call AS (path) -> path LIKE '/rest/v1/%'
;
CREATE OR REPLACE FUNCTION det_is_write AS (method, path) ->
    path LIKE '/rest/v1/%' AND path NOT LIKE '/rest/v1/rpc/%'
    AND upper(method) IN ('POST', 'PATCH', 'PUT', 'DELETE')
;
CREATE OR REPLACE FUNCTION det_target AS (path) -> multiIf(
    path LIKE '/rest/v1/rpc/%', concat('rpc/', det_rest_table(path)),
    path LIKE '/rest/v1/%', det_rest_table(path),
    path)
;
CREATE OR REPLACE FUNCTION det_is_auth_user_call AS (method, path) ->
    path = '/auth/v1/user' AND upper(coalesce(method, 'GET')) = 'GET'
;
CREATE OR REPLACE FUNCTION det_request_user AS (message) ->
    nullIf(regexpExtract(message, 'user=([0-9A-Za-z-]+)', 1), '')
;
CREATE OR REPLACE FUNCTION det_is_realtime_error AS (level, error_code) ->
    lower(coalesce(level, '')) IN ('error', 'critical') OR error_code IS NOT NULL
;
-- DuckDB's epoch() of an interval: whole days as seconds plus the rest of the day in
-- microseconds / 1e6, added as doubles (a timestamp difference is held as days and
-- microseconds). Dividing the whole by 1e6 rounds differently past a day.
CREATE OR REPLACE FUNCTION det_seconds AS (us) ->
    toFloat64(intDiv(us, 86400000000) * 86400) + (us % 86400000000) / 1e6
;
-- The seconds from `a` to `b` (DuckDB's epoch(b - a)).
CREATE OR REPLACE FUNCTION det_seconds_between AS (a, b) ->
    det_seconds(toUnixTimestamp64Micro(b) - toUnixTimestamp64Micro(a))

;
-- quantile_cont(q) of a distribution given as its sorted non-zero values plus a number of
-- zeros (queries/_macros.sql det_padded_quantile); arrays are 1-based on both engines.
CREATE OR REPLACE FUNCTION det_value_at AS (sorted, zeros, i) ->
    if(i < zeros, 0, sorted[i - zeros + 1])
;
CREATE OR REPLACE FUNCTION det_padded_at AS (sorted, zeros, h) ->
    toFloat64(det_value_at(sorted, zeros, toInt64(floor(h))))
    + (h - floor(h)) * (det_value_at(sorted, zeros, toInt64(ceil(h)))
                        - det_value_at(sorted, zeros, toInt64(floor(h))))
;
CREATE OR REPLACE FUNCTION det_padded_quantile AS (sorted, zeros, q) ->
    det_padded_at(sorted, zeros, (length(sorted) + zeros - 1) * toFloat64(q))
