-- name: polling_pressure
-- title: Polling pressure
-- finds: GET requests on polling endpoints (path matching path_pattern, a regular
--   expression; default: chat messages and the admin /stats/access; API-gateway rows only
--   from `caller`, by default the browser, since polling is a client's habit) per window, source
--   (edge = API gateway, vercel = app routes) and path: total rate, clients (JWT user,
--   else session, else IP; for app routes the `user=` of the request's console line) and
--   each client's interval between requests (p10 and median, seconds). in_realtime_outage
--   marks windows in which Realtime was down (det_realtime_outages in _macros.sql), so the
--   fallback polling's load is visible on its own.
-- rank: 70
-- param path_pattern: varchar = (chat_messages|/stats/access) -- regular expression on the request path
-- param caller: varchar = browser -- API-gateway rows from this caller kind only (browser, server, other, any)
-- subject: source, path, in_realtime_outage
-- metric count: count [requests] -- polling requests
-- metric clients: distinct [clients] -- clients
-- metric requests_per_minute: rate [requests/min] -- requests per minute
-- metric requests_per_client_per_minute: rate [requests/client/min] -- requests per client per minute
-- metric interval_p10_s: interval [s] -- interval between a client's requests (p10)
-- metric interval_p50_s: interval [s] -- interval between a client's requests (median)
-- needs: edge_logs | vercel_logs
-- events: count
WITH vercel_users AS (
    SELECT request_id, max(det_request_user(message)) AS user_id
    FROM vercel_logs
    WHERE ts >= $since AND ts < $until AND request_id IS NOT NULL AND message LIKE '%user=%'
    GROUP BY request_id
),
requests AS (
    SELECT ts, 'edge' AS source, path, coalesce(user_id, session_id, ip) AS client
    FROM det_edge($since, $until)
    WHERE upper(coalesce(method, 'GET')) = 'GET' AND regexp_matches(path, $path_pattern)
      AND ($caller = 'any' OR det_caller(client_info, user_agent) = $caller)
    UNION ALL
    SELECT v.ts, 'vercel' AS source, v.path, u.user_id AS client
    FROM vercel_logs AS v
    LEFT JOIN vercel_users AS u USING (request_id)
    WHERE v.ts >= $since AND v.ts < $until AND v.path IS NOT NULL
      AND coalesce(v.type, '') NOT IN ('stdout', 'stderr')
      AND upper(coalesce(v.method, 'GET')) = 'GET' AND regexp_matches(v.path, $path_pattern)
),
spaced AS (
    SELECT *, time_bucket($window, ts, $origin) AS w,
           epoch(ts - lag(ts) OVER (PARTITION BY source, path, client ORDER BY ts))
               AS interval_s
    FROM requests
),
outages AS (
    SELECT w, true AS down FROM det_realtime_outages($since, $until, $window, $origin)
)
SELECT s.w AS window_start, s.source, s.path, coalesce(o.down, false) AS in_realtime_outage,
       count(*) AS count,
       count(DISTINCT s.client) AS clients,
       count(*) / (epoch($window) / 60.0) AS requests_per_minute,
       count(*) / (epoch($window) / 60.0) / nullif(count(DISTINCT s.client), 0)
           AS requests_per_client_per_minute,
       quantile_cont(s.interval_s, 0.1) AS interval_p10_s,
       quantile_cont(s.interval_s, 0.5) AS interval_p50_s
FROM spaced AS s
LEFT JOIN outages AS o ON o.w = s.w
GROUP BY ALL
ORDER BY window_start, source, path
