-- ClickHouse body of queries/rpc_latency.sql (same header, same output). Percentiles:
-- quantileExactInclusive, the interpolation of quantile_cont (see auth_user_latency.sql).
WITH
--@slice_views
samples AS (
    SELECT ts, 'rpc' AS kind, det_rest_table(path) AS call_name, latency_ms,
           coalesce(status >= 400, false) AS failed
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND path LIKE '/rest/v1/rpc/%'
    UNION ALL
    SELECT ts, 'statement' AS kind,
           coalesce(det_relation(CAST(NULL AS Nullable(String)), statement), command_tag,
                    'statement') AS call_name,
           duration_ms AS latency_ms,
           upper(coalesce(severity, '')) IN ('ERROR', 'FATAL', 'PANIC') AS failed
    FROM postgres_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND (duration_ms IS NOT NULL
           OR (statement IS NOT NULL AND upper(coalesce(severity, '')) IN ('ERROR', 'FATAL', 'PANIC')))
)
SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start,
       kind, call_name AS name,
       count() AS count,
       countIf(failed) AS errors,
       avg(latency_ms) AS mean_ms,
       quantileExactInclusive(0.5)(latency_ms) AS p50_ms,
       quantileExactInclusive(0.95)(latency_ms) AS p95_ms,
       quantileExactInclusive(0.99)(latency_ms) AS p99_ms,
       max(latency_ms) AS max_ms
FROM samples
--@slice_filter WHERE
GROUP BY window_start, kind, name
ORDER BY window_start, kind, count DESC, name
