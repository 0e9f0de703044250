-- ClickHouse body of queries/ingest_coverage.sql (same header, same output). It reads
-- ingested_files, which the engine holds like every normalized table (copy_from_duckdb
-- copies it). Seconds between times are DuckDB's epoch() of their difference (det_seconds).
WITH
events AS (
    SELECT 'edge_logs' AS table_name, ts, file_id FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    UNION ALL SELECT 'postgres_logs' AS table_name, ts, file_id FROM postgres_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    UNION ALL SELECT 'auth_logs' AS table_name, ts, file_id FROM auth_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    UNION ALL SELECT 'realtime_logs' AS table_name, ts, file_id FROM realtime_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    UNION ALL SELECT 'postgrest_logs' AS table_name, ts, file_id FROM postgrest_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    UNION ALL SELECT 'function_edge_logs' AS table_name, ts, file_id FROM function_edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    UNION ALL SELECT 'supavisor_logs' AS table_name, ts, file_id FROM supavisor_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    UNION ALL SELECT 'vercel_logs' AS table_name, ts, file_id FROM vercel_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    UNION ALL SELECT 'cron_runs' AS table_name, assumeNotNull(ts) AS ts, file_id FROM cron_runs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
),
all_tables AS (
    SELECT arrayJoin(['edge_logs', 'postgres_logs', 'auth_logs', 'realtime_logs',
                      'postgrest_logs', 'function_edge_logs', 'supavisor_logs', 'vercel_logs',
                      'cron_runs']) AS table_name
),
-- one row per (table, file, second) first, as in the DuckDB body
seconds AS (
    SELECT table_name, file_id, toStartOfSecond(ts) AS second, count() AS n,
           min(ts) AS first_ts, max(ts) AS last_ts
    FROM events
    GROUP BY table_name, file_id, second
),
per_table_seconds AS (
    SELECT table_name, second, sum(n) AS n, min(first_ts) AS first_ts, max(last_ts) AS last_ts
    FROM seconds
    GROUP BY table_name, second
),
file_steps AS (
    SELECT *,
           det_seconds_between(
               lagInFrame(toNullable(last_ts)) OVER (PARTITION BY table_name, file_id ORDER BY second
                                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               first_ts) AS step_s
    FROM seconds
),
table_steps AS (
    SELECT *,
           det_seconds_between(
               lagInFrame(toNullable(last_ts)) OVER (PARTITION BY table_name ORDER BY second
                                                     ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               first_ts) AS step_s
    FROM per_table_seconds
),
greatest(det_seconds_between({since:DateTime64(6, 'UTC')}, {until:DateTime64(6, 'UTC')}), 1e-9)
    AS range_seconds,
per_file AS (
    SELECT s.table_name AS table_name, coalesce(f.file, '(unknown file)') AS file,
           toInt64(sum(s.n)) AS rows,
           any(f.rejected) AS rejected, any(f.duplicates) AS duplicates,
           toInt64(countIf(s.step_s > det_seconds({gap:Int64}))) AS gaps,
           max(s.step_s) AS max_gap_s,
           least(det_seconds_between(min(s.first_ts), max(s.last_ts)) / range_seconds, 1.0)
               AS coverage,
           toNullable(min(s.first_ts)) AS first_ts, toNullable(max(s.last_ts)) AS last_ts,
           any(f.format) AS format
    FROM file_steps AS s
    LEFT JOIN (SELECT file_id AS f_file_id, file, rejected, duplicates, format
               FROM ingested_files) AS f ON f.f_file_id = s.file_id
    GROUP BY s.table_name, s.file_id, f.file
),
per_table AS (
    SELECT t.table_name AS table_name, '(all files)' AS file,
           toInt64(coalesce(sum(s.n), 0)) AS rows,
           CAST(NULL AS Nullable(Int64)) AS rejected, CAST(NULL AS Nullable(Int64)) AS duplicates,
           toInt64(countIf(s.step_s > det_seconds({gap:Int64}))) AS gaps,
           max(s.step_s) AS max_gap_s,
           if(count(s.second) = 0, 0.0,
              least(det_seconds_between(min(s.first_ts), max(s.last_ts)) / range_seconds, 1.0))
               AS coverage,
           min(s.first_ts) AS first_ts, max(s.last_ts) AS last_ts,
           CAST(NULL AS Nullable(String)) AS format
    FROM all_tables AS t
    LEFT JOIN table_steps AS s ON s.table_name = t.table_name
    GROUP BY t.table_name
),
files_without_rows AS (
    SELECT '(no rows)' AS table_name, file, toInt64(0) AS rows, rejected, duplicates,
           toInt64(0) AS gaps, CAST(NULL AS Nullable(Float64)) AS max_gap_s, 0.0 AS coverage,
           min_ts AS first_ts, max_ts AS last_ts, format
    FROM (SELECT * EXCEPT (rows), rows AS stored_rows FROM ingested_files)
    WHERE stored_rows = 0
)
SELECT table_name, file, rows, rejected, duplicates, gaps, max_gap_s, coverage,
       first_ts, last_ts, format
FROM (SELECT * FROM per_table UNION ALL SELECT * FROM per_file
      UNION ALL SELECT * FROM files_without_rows)
ORDER BY table_name, file = '(all files)' DESC, file
