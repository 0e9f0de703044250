-- name: ingest_coverage
-- title: Ingest coverage
-- finds: what the analysis stands on: rows per log table and file inside the range,
--   each file's rejected and duplicate rows (from ingest), the first and last event, the
--   share of the range they span, and gaps (pauses longer than `gap` between consecutive
--   events). file '(all files)' is the table as a whole, listed even when empty, so a
--   missing source shows as 0 rows.
-- rank: 120
-- windowed: false
-- param gap: interval = 5m -- a pause between events longer than this is a gap
-- subject: table_name, file
-- metric rows: count [rows] -- rows
-- metric rejected: count [rows] -- rejected rows
-- metric duplicates: count [rows] -- duplicate rows
-- metric gaps: count [gaps] -- gaps
-- metric max_gap_s: peak [s] -- longest gap
-- metric coverage: ratio -- share of the range covered
-- rollup: file = (all files)
-- details: first_ts, last_ts, format
-- events: rows
WITH events AS (
    SELECT 'edge_logs' AS table_name, ts, file_id FROM edge_logs WHERE ts >= $since AND ts < $until
    UNION ALL SELECT 'postgres_logs', ts, file_id FROM postgres_logs WHERE ts >= $since AND ts < $until
    UNION ALL SELECT 'auth_logs', ts, file_id FROM auth_logs WHERE ts >= $since AND ts < $until
    UNION ALL SELECT 'realtime_logs', ts, file_id FROM realtime_logs WHERE ts >= $since AND ts < $until
    UNION ALL SELECT 'postgrest_logs', ts, file_id FROM postgrest_logs WHERE ts >= $since AND ts < $until
    UNION ALL SELECT 'function_edge_logs', ts, file_id FROM function_edge_logs WHERE ts >= $since AND ts < $until
    UNION ALL SELECT 'supavisor_logs', ts, file_id FROM supavisor_logs WHERE ts >= $since AND ts < $until
    UNION ALL SELECT 'vercel_logs', ts, file_id FROM vercel_logs WHERE ts >= $since AND ts < $until
    UNION ALL SELECT 'cron_runs', ts, file_id FROM cron_runs WHERE ts >= $since AND ts < $until
),
all_tables AS (
    SELECT unnest(['edge_logs', 'postgres_logs', 'auth_logs', 'realtime_logs',
                   'postgrest_logs', 'function_edge_logs', 'supavisor_logs', 'vercel_logs',
                   'cron_runs']) AS table_name
),
-- Events folded to one row per (table, file, second) first: a gap is the pause from the
-- last event of one occupied second to the first of the next, exactly as between rows,
-- and dense logs shrink to a few thousand rows before any sort.
seconds AS (
    SELECT table_name, file_id, date_trunc('second', ts) AS second, count(*) AS n,
           min(ts) AS first_ts, max(ts) AS last_ts
    FROM events
    GROUP BY ALL
),
per_table_seconds AS (
    SELECT table_name, second, sum(n) AS n, min(first_ts) AS first_ts, max(last_ts) AS last_ts
    FROM seconds
    GROUP BY ALL
),
file_steps AS (
    SELECT *,
           epoch(first_ts - lag(last_ts) OVER (PARTITION BY table_name, file_id
                                               ORDER BY second)) AS step_s
    FROM seconds
),
table_steps AS (
    SELECT *,
           epoch(first_ts - lag(last_ts) OVER (PARTITION BY table_name ORDER BY second))
               AS step_s
    FROM per_table_seconds
),
range_length AS (
    SELECT greatest(epoch($until - $since), 1e-9) AS seconds
),
per_file AS (
    SELECT s.table_name, coalesce(f.file, '(unknown file)') AS file,
           sum(s.n)::BIGINT AS rows,
           any_value(f.rejected) AS rejected, any_value(f.duplicates) AS duplicates,
           count(*) FILTER (WHERE s.step_s > epoch($gap)) AS gaps,
           max(s.step_s) AS max_gap_s,
           least(epoch(max(s.last_ts) - min(s.first_ts)) / (SELECT seconds FROM range_length),
                 1.0) AS coverage,
           min(s.first_ts) AS first_ts, max(s.last_ts) AS last_ts, any_value(f.format) AS format
    FROM file_steps AS s
    LEFT JOIN ingested_files AS f ON f.file_id = s.file_id
    GROUP BY s.table_name, s.file_id, f.file
),
per_table AS (
    SELECT t.table_name, '(all files)' AS file,
           coalesce(sum(s.n), 0)::BIGINT AS rows,
           NULL::BIGINT AS rejected, NULL::BIGINT AS duplicates,
           count(*) FILTER (WHERE s.step_s > epoch($gap)) AS gaps,
           max(s.step_s) AS max_gap_s,
           CASE WHEN count(s.second) = 0 THEN 0.0
                ELSE least(epoch(max(s.last_ts) - min(s.first_ts))
                           / (SELECT seconds FROM range_length), 1.0)
           END AS coverage,
           min(s.first_ts) AS first_ts, max(s.last_ts) AS last_ts, NULL::VARCHAR AS format
    FROM all_tables AS t
    LEFT JOIN table_steps AS s USING (table_name)
    GROUP BY t.table_name
),
files_without_rows AS (
    SELECT '(no rows)' AS table_name, f.file, 0 AS rows, f.rejected, f.duplicates,
           0 AS gaps, NULL::DOUBLE AS max_gap_s, 0.0 AS coverage,
           f.min_ts AS first_ts, f.max_ts AS last_ts, f.format
    FROM ingested_files AS f
    WHERE f.rows = 0
)
SELECT table_name, file, rows, rejected, duplicates, gaps, max_gap_s, coverage,
       first_ts, last_ts, format
FROM (SELECT * FROM per_table UNION ALL SELECT * FROM per_file
      UNION ALL SELECT * FROM files_without_rows)
ORDER BY table_name, file = '(all files)' DESC, file
