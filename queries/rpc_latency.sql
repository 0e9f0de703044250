-- name: rpc_latency
-- title: RPC and statement latency
-- finds: per window, /rest/v1/rpc/<function> calls at the API gateway (kind rpc, name =
--   the function) with p50/p95/p99/max latency in ms, and Postgres statement durations
--   from postgres_logs rows that carry one (kind statement, name = the relation or
--   function the statement targets, else its command tag). A statement Postgres logged
--   as ERROR/FATAL is a failed call of its target (counted in count and errors; it has no
--   duration, so the latencies are those of the statements that finished).
-- rank: 90
-- subject: kind, name
-- metric count: count [calls] -- calls
-- metric errors: count [calls] -- failed calls
-- metric mean_ms: latency [ms] -- mean latency
-- metric p50_ms: latency [ms] -- median latency
-- metric p95_ms: latency [ms] -- p95 latency
-- metric p99_ms: latency [ms] -- p99 latency
-- metric max_ms: latency [ms] -- slowest call
-- needs: edge_logs | postgres_logs
-- events: count
WITH samples AS (
    SELECT ts, 'rpc' AS kind, det_rest_table(path) AS name, latency_ms,
           coalesce(status >= 400, false) AS failed
    FROM det_edge($since, $until)
    WHERE path LIKE '/rest/v1/rpc/%'
    UNION ALL
    SELECT ts, 'statement' AS kind,
           coalesce(det_relation(NULL, statement), command_tag, 'statement') AS name,
           duration_ms AS latency_ms,
           upper(coalesce(severity, '')) IN ('ERROR', 'FATAL', 'PANIC') AS failed
    FROM postgres_logs
    WHERE ts >= $since AND ts < $until
      AND (duration_ms IS NOT NULL
           OR (statement IS NOT NULL AND upper(coalesce(severity, '')) IN ('ERROR', 'FATAL', 'PANIC')))
)
SELECT time_bucket($window, ts, $origin) AS window_start, kind, name,
       count(*) AS count,
       count(*) FILTER (WHERE failed) AS errors,
       avg(latency_ms) AS mean_ms,
       quantile_cont(latency_ms, 0.5) AS p50_ms,
       quantile_cont(latency_ms, 0.95) AS p95_ms,
       quantile_cont(latency_ms, 0.99) AS p99_ms,
       max(latency_ms) AS max_ms
FROM samples
GROUP BY ALL
ORDER BY window_start, kind, count DESC, name
