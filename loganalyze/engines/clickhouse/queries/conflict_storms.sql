-- ClickHouse body of queries/conflict_storms.sql (same header, same output).
WITH
--@slice_views
--@include _db_errors
,
events AS (
    SELECT ts, coalesce(relation, '?') AS k1, '' AS k2, '' AS k3, constraint_name AS label
    FROM db_errors
    WHERE sqlstate IN ('23505', '23P01') OR status = 409
),
--@include _storms
SELECT window_start, k1 AS table_name, label AS constraint_name,
       count, peak_count, windows, baseline_median, window_end, peak_window
FROM storms
ORDER BY window_start, table_name, constraint_name
