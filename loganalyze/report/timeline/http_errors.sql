-- HTTP 4xx/5xx per window by path: the API gateway's paths as they are, app routes
-- (Vercel functions) prefixed with "app".
WITH errors AS (
    SELECT time_bucket($window, ts) AS window_start,
           coalesce(path, '?') || ' ' || CAST(status // 100 AS VARCHAR) || 'xx' AS series
    FROM edge_logs
    WHERE ts >= $since AND ts < $until AND status >= 400
    UNION ALL
    SELECT time_bucket($window, ts),
           'app ' || coalesce(path, '?') || ' ' || CAST(status // 100 AS VARCHAR) || 'xx'
    FROM vercel_logs
    WHERE ts >= $since AND ts < $until AND status >= 400
)
SELECT window_start, series, 'y' AS axis, count(*)::DOUBLE AS value
FROM errors
GROUP BY ALL
ORDER BY window_start, series
