-- name: auth_user_latency
-- title: GET /auth/v1/user load and latency
-- finds: GET /auth/v1/user calls per window and caller kind (server = supabase-js in Node,
--   e.g. a serverless handler; browser; other; unknown when only GoTrue's log saw the call),
--   optionally per user, with p50/p95/p99/max latency (ms; edge rows carry the gateway's
--   origin time, auth_logs rows GoTrue's own duration). A call seen by both edge_logs and
--   auth_logs is counted once and measured by the `prefer`red log (det_auth_calls in
--   _macros.sql).
-- rank: 40
-- headline: GET /auth/v1/user
-- headline_when: p95_ms >= 1000
-- param per_user: boolean = false -- one row per user (user_id is null when false)
-- param per_caller: boolean = true -- one row per caller kind (caller is '(all)' when false)
-- param prefer: varchar = edge -- which log measures a call both saw: edge (gateway origin time) or auth (GoTrue duration)
-- param match_tolerance: interval = 2s -- how far apart edge and auth rows of one call may be
-- subject: user_id, caller
-- metric count: count [calls] -- GET /auth/v1/user calls
-- metric users: distinct [users] -- distinct users
-- metric errors: count [calls] -- failed calls (status ≥ 400)
-- metric mean_ms: latency [ms] -- mean latency
-- metric p50_ms: latency [ms] -- median latency
-- metric p95_ms: latency [ms] -- p95 latency
-- metric p99_ms: latency [ms] -- p99 latency
-- metric max_ms: latency [ms] -- slowest call
-- needs: edge_logs | auth_logs
-- example edge_logs: path = '/auth/v1/user'
-- example auth_logs: path = '/auth/v1/user'
-- details: sources
-- events: count
SELECT time_bucket($window, ts, $origin) AS window_start,
       CASE WHEN $per_user THEN user_id END AS user_id,
       CASE WHEN $per_caller THEN caller ELSE '(all)' END AS caller,
       count(*) AS count,
       count(DISTINCT user_id) AS users,
       count(*) FILTER (WHERE status >= 400) AS errors,
       avg(latency_ms) AS mean_ms,
       quantile_cont(latency_ms, 0.5) AS p50_ms,
       quantile_cont(latency_ms, 0.95) AS p95_ms,
       quantile_cont(latency_ms, 0.99) AS p99_ms,
       max(latency_ms) AS max_ms,
       string_agg(DISTINCT source_table, ',' ORDER BY source_table) AS sources
FROM det_auth_calls($since, $until, '/auth/v1/user', $match_tolerance, $prefer)
WHERE coalesce(upper(method), 'GET') = 'GET'
  AND (CASE WHEN $prefer IN ('edge', 'auth') THEN true
            ELSE error('invalid parameter prefer: use edge or auth') END)
GROUP BY ALL
ORDER BY window_start, caller, count DESC, user_id
