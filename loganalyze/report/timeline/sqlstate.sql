-- Error SQLSTATEs per window. Postgres' own log is the source of truth; when it holds no
-- errors in the range (a hosted export without postgres_logs), the codes PostgREST put
-- in the gateway's Proxy-Status header stand in. Warnings and notices (classes 00-02)
-- are not errors.
WITH pg AS (
    SELECT time_bucket($window, ts) AS window_start, sqlstate AS series
    FROM postgres_logs
    WHERE ts >= $since AND ts < $until
      AND sqlstate IS NOT NULL
      AND substr(sqlstate, 1, 2) NOT IN ('00', '01', '02')
),
gateway AS (
    SELECT time_bucket($window, ts) AS window_start, error_code AS series
    FROM edge_logs
    WHERE ts >= $since AND ts < $until
      AND regexp_full_match(coalesce(error_code, ''), '[0-9A-Z]{5}|PGRST[0-9]{3}')
      AND substr(error_code, 1, 2) NOT IN ('00', '01', '02')
      AND NOT EXISTS (SELECT 1 FROM pg)
),
errors AS (
    SELECT * FROM pg
    UNION ALL
    SELECT * FROM gateway
)
SELECT window_start, series, 'y' AS axis, count(*)::DOUBLE AS value
FROM errors
GROUP BY ALL
ORDER BY window_start, series
