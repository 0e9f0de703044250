-- Refresh-token races: refreshes rejected because a concurrent refresh already used the
-- token. GoTrue may log a request twice (error line, then "request completed"), so
-- requests are counted once; the gateway's x-sb-error-code stands in without auth_logs.
WITH auth AS (
    SELECT ts, coalesce(request_id, id) AS request
    FROM auth_logs
    WHERE ts >= $since AND ts < $until
      AND (error_code = 'refresh_token_already_used'
           OR coalesce(error, '') ILIKE '%Invalid Refresh Token: Already Used%'
           OR coalesce(msg, '') ILIKE '%Invalid Refresh Token: Already Used%')
),
gateway AS (
    SELECT ts, coalesce(request_id, id) AS request
    FROM edge_logs
    WHERE ts >= $since AND ts < $until
      AND error_code = 'refresh_token_already_used'
      AND NOT EXISTS (SELECT 1 FROM auth)
),
races AS (
    SELECT * FROM auth
    UNION ALL
    SELECT * FROM gateway
)
SELECT time_bucket($window, ts) AS window_start, 'refresh_token_already_used' AS series,
       'y' AS axis, count(DISTINCT request)::DOUBLE AS value
FROM races
GROUP BY ALL
ORDER BY window_start
