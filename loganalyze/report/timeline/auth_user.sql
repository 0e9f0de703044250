-- GET /auth/v1/user: p95 latency (left axis) and calls (right axis) per window. The
-- gateway's origin time is what callers waited; GoTrue's own duration stands in when the
-- export has no edge_logs for the path.
WITH gateway AS (
    SELECT ts, latency_ms AS ms
    FROM edge_logs
    WHERE ts >= $since AND ts < $until AND path = '/auth/v1/user'
),
auth AS (
    SELECT ts, duration_ms AS ms
    FROM auth_logs
    WHERE ts >= $since AND ts < $until AND path = '/auth/v1/user' AND status IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM gateway)
),
calls AS (
    SELECT * FROM gateway
    UNION ALL
    SELECT * FROM auth
)
SELECT time_bucket($window, ts) AS window_start, 'p95 ms' AS series, 'y' AS axis,
       quantile_cont(ms, 0.95) AS value
FROM calls
WHERE ms IS NOT NULL
GROUP BY ALL
UNION ALL
SELECT time_bucket($window, ts) AS window_start, 'calls' AS series, 'y2' AS axis,
       count(*)::DOUBLE AS value
FROM calls
GROUP BY ALL
ORDER BY window_start, series
