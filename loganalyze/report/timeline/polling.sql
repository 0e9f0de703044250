-- Polling: repeated reads per window by route. Browser reads straight to PostgREST
-- (chat fallback polling, dashboards) and GET app routes (Vercel functions, e.g. the
-- admin's /stats/access); server-side supabase-js calls are the app routes' own cost and
-- are left out.
WITH reads AS (
    SELECT time_bucket($window, ts) AS window_start, path AS series
    FROM edge_logs
    WHERE ts >= $since AND ts < $until
      AND method = 'GET' AND path LIKE '/rest/v1/%'
      AND coalesce(client_info, '') NOT LIKE 'supabase-js-node/%'
    UNION ALL
    SELECT time_bucket($window, ts), 'app ' || path
    FROM vercel_logs
    WHERE ts >= $since AND ts < $until
      AND method = 'GET' AND path IS NOT NULL AND status IS NOT NULL
)
SELECT window_start, series, 'y' AS axis, count(*)::DOUBLE AS value
FROM reads
GROUP BY ALL
ORDER BY window_start, series
