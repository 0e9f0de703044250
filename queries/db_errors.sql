-- name: db_errors
-- title: Database errors by SQLSTATE
-- finds: every database error (SQLSTATE outside classes 00/01, severity ERROR, FATAL or
--   PANIC) per window and SQLSTATE, from postgres_logs, postgrest_logs and edge_logs (the
--   code PostgREST put in Proxy-Status, or 23505 for a bare 409), each event counted once
--   across them by the rule schema_errors and conflict_storms count by (det_db_errors in
--   _macros.sql). The incident timeline's database panel is this detector.
-- rank: 25
-- param match_tolerance: interval = 1s -- how far apart two sources' rows of one event may be
-- subject: sqlstate
-- metric count: count [errors] -- database errors
-- metric postgres_count: count [errors] -- seen in the Postgres log
-- metric postgrest_count: count [errors] -- seen in PostgREST's log only
-- metric edge_count: count [errors] -- seen at the API gateway only
-- needs: postgres_logs | postgrest_logs | edge_logs
-- example postgres_logs: severity IN ('ERROR', 'FATAL', 'PANIC') AND sqlstate NOT LIKE '0%'
-- details: sources
-- events: count
SELECT time_bucket($window, ts, $origin) AS window_start, sqlstate,
       count(*) AS count,
       count(*) FILTER (WHERE source_table = 'postgres_logs') AS postgres_count,
       count(*) FILTER (WHERE source_table = 'postgrest_logs') AS postgrest_count,
       count(*) FILTER (WHERE source_table = 'edge_logs') AS edge_count,
       string_agg(DISTINCT source_table, ',' ORDER BY source_table) AS sources
FROM det_db_errors($since, $until, $match_tolerance)
GROUP BY ALL
ORDER BY window_start, count DESC, sqlstate
