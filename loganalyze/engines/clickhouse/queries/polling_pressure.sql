-- ClickHouse body of queries/polling_pressure.sql (same header, same output). Intervals
-- are DuckDB's epoch() of the time between a client's requests (det_seconds); the
-- percentiles are quantileExactInclusive, the interpolation of quantile_cont. A table joined
-- to another is read through a subquery: ClickHouse resolves an aliased table's columns
-- wrongly when the table is a Merge of remote() tables (tests/test_engines_port.py).
WITH
vercel_users AS (
    SELECT request_id AS user_request_id, max(det_request_user(message)) AS request_user
    FROM vercel_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND request_id IS NOT NULL AND message LIKE '%user=%'
    GROUP BY request_id
),
requests AS (
    SELECT ts, 'edge' AS source, path, coalesce(user_id, session_id, ip) AS client
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND upper(coalesce(method, 'GET')) = 'GET' AND match(path, {path_pattern:String})
      AND ({caller:String} = 'any' OR det_caller(client_info, user_agent) = {caller:String})
    UNION ALL
    SELECT v.ts AS ts, 'vercel' AS source, v.path AS path, u.request_user AS client
    FROM (SELECT ts, request_id, path
          FROM vercel_logs
          WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
            AND path IS NOT NULL AND coalesce(type, '') NOT IN ('stdout', 'stderr')
            AND upper(coalesce(method, 'GET')) = 'GET' AND match(path, {path_pattern:String})) AS v
    LEFT JOIN vercel_users AS u ON u.user_request_id = v.request_id
),
spaced AS (
    SELECT *, det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS w,
           det_seconds_between(
               lagInFrame(toNullable(ts)) OVER (PARTITION BY source, path, client ORDER BY ts
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               ts) AS interval_s
    FROM requests
),
--@include _realtime_outages
SELECT s.w AS window_start, s.source AS source, s.path AS path,
       CAST(s.w IN (SELECT w FROM realtime_outages) AS Bool) AS in_realtime_outage,
       count() AS count,
       uniqExact(s.client) AS clients,
       count() / (det_seconds({window:Int64}) / 60.0) AS requests_per_minute,
       count() / (det_seconds({window:Int64}) / 60.0) / nullIf(uniqExact(s.client), 0)
           AS requests_per_client_per_minute,
       quantileExactInclusive(0.1)(s.interval_s) AS interval_p10_s,
       quantileExactInclusive(0.5)(s.interval_s) AS interval_p50_s
FROM spaced AS s
GROUP BY window_start, source, path, in_realtime_outage
ORDER BY window_start, source, path
