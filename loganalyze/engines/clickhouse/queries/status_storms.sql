-- ClickHouse body of queries/status_storms.sql (same header, same output). `http` is
-- det_http of queries/_macros.sql: gateway requests and the app's own request rows.
WITH
--@slice_views
http AS (
    SELECT ts, 'edge' AS source, path, status
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND status IS NOT NULL
    UNION ALL
    SELECT ts, 'vercel' AS source, path, status
    FROM vercel_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND status IS NOT NULL AND coalesce(type, '') NOT IN ('stdout', 'stderr')
),
events AS (
    SELECT ts, source AS k1, det_status_class(status) AS k2, path AS k3,
           CAST(NULL AS Nullable(String)) AS label
    FROM http
    WHERE status >= 400
),
--@include _storms
SELECT window_start, k1 AS source, k2 AS status_class, k3 AS path,
       count, peak_count, windows, baseline_median, window_end, peak_window
FROM storms
ORDER BY window_start, source, status_class, path
