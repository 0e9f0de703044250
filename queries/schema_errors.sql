-- name: schema_errors
-- title: Schema errors
-- finds: SQLSTATE class 42 errors (42703 undefined column, 42P01 undefined table, 42883
--   undefined function, ...) and PostgREST schema-cache errors (PGRST2xx) from
--   postgres_logs, postgrest_logs and edge_logs (proxy_status), per window, grouped by
--   SQLSTATE, relation, column and normalized message; an event seen by several sources is
--   counted once (see det_db_errors in _macros.sql for the matching rule). Gateway-only
--   events carry no message.
-- rank: 10
-- headline: {sqlstate} `{message}`
-- param match_tolerance: interval = 1s -- how far apart two sources' rows of one event may be
-- subject: sqlstate, relation, column_name, message
-- metric count: count [errors] -- schema errors
-- metric postgres_count: count [errors] -- seen in the Postgres log
-- metric postgrest_count: count [errors] -- seen in PostgREST's log
-- metric edge_count: count [errors] -- seen at the API gateway
-- needs: postgres_logs | postgrest_logs | edge_logs
-- example postgres_logs: sqlstate LIKE '42%' AND severity IN ('ERROR', 'FATAL')
-- example edge_logs: error_code LIKE '42%' OR error_code LIKE 'PGRST2%'
-- details: sources
-- events: count
WITH events AS (
    SELECT time_bucket($window, ts, $origin) AS window_start, *
    FROM det_db_errors($since, $until, $match_tolerance)
    WHERE sqlstate LIKE '42%' OR sqlstate LIKE 'PGRST2%'
)
SELECT window_start, sqlstate, relation, column_name, message,
       count(*) AS count,
       count(*) FILTER (WHERE source_table = 'postgres_logs') AS postgres_count,
       count(*) FILTER (WHERE source_table = 'postgrest_logs') AS postgrest_count,
       count(*) FILTER (WHERE source_table = 'edge_logs') AS edge_count,
       string_agg(DISTINCT source_table, ',' ORDER BY source_table) AS sources
FROM events
GROUP BY ALL
ORDER BY window_start, count DESC, sqlstate, relation, column_name, message
