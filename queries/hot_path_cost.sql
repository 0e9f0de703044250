-- name: hot_path_cost
-- title: Hot-path cost per app route
-- finds: for each app route (Vercel function invocations; without vercel_logs, per-user
--   bursts of server-side calls), the Supabase calls, database calls (/rest/v1) and
--   writes (POST/PATCH/PUT/DELETE on /rest/v1 tables) per request (mean, p95, max),
--   /auth/v1/user calls per request, and requests and calls per participant-minute
--   (det_participant_minutes in _macros.sql: each user's minutes from first call to the
--   end of the range).
--   target '(all)' is the route's total; one more row per target (table, rpc/<fn>, auth
--   path) gives that target's share, so "registrations writes from /presence/ping" is
--   the row (route /api/presence/ping, target registrations), metric writes. Attribution
--   rule: det_route_calls in _macros.sql. Calls no route made are listed as route
--   '(browser)' (browser callers) or '(unattributed)' (others), each call a request.
-- rank: 60
-- windowed: false
-- param burst_gap: interval = 1s -- without vercel_logs: the longest pause inside one burst
-- subject: route, target
-- metrics: requests, participants, calls, calls_per_request_mean, calls_per_request_p95, calls_per_request_max, db_calls_per_request_mean, db_calls_per_request_min, db_calls_per_request_max, writes, writes_per_request_mean, writes_per_request_max, auth_user_calls_per_request_mean, requests_per_participant_per_minute, calls_per_participant_per_minute
-- details: attribution
-- events: requests
WITH routed AS (
    SELECT * FROM det_route_calls($since, $until, $burst_gap)
),
direct AS (
    SELECT 'direct' AS attribution, e.id AS invocation,
           CASE WHEN det_caller(e.client_info, e.user_agent) = 'browser' THEN '(browser)'
                ELSE '(unattributed)' END AS route,
           e.user_id, e.ts AS start_ts, e.id AS call_id, e.ts AS call_ts, e.method, e.path,
           CASE WHEN e.path LIKE '/rest/v1/rpc/%' THEN 'rpc/' || det_rest_table(e.path)
                WHEN e.path LIKE '/rest/v1/%' THEN det_rest_table(e.path)
                ELSE e.path END AS target,
           e.path LIKE '/rest/v1/%' AS is_db,
           e.path LIKE '/rest/v1/%' AND e.path NOT LIKE '/rest/v1/rpc/%'
               AND upper(e.method) IN ('POST', 'PATCH', 'PUT', 'DELETE') AS is_write,
           e.path = '/auth/v1/user' AND upper(coalesce(e.method, 'GET')) = 'GET'
               AS is_auth_user
    FROM det_edge($since, $until) AS e
    ANTI JOIN (SELECT call_id FROM routed WHERE call_id IS NOT NULL) AS r
      ON r.call_id = e.id
),
rc AS (
    SELECT * FROM routed
    UNION ALL
    SELECT * FROM direct
),
presence AS (
    SELECT minutes FROM det_participant_minutes($since, $until)
),
per_request AS (
    SELECT attribution, route, invocation, any_value(user_id) AS user_id, '(all)' AS target,
           count(call_ts) AS calls,
           count(call_ts) FILTER (WHERE is_db) AS db_calls,
           count(call_ts) FILTER (WHERE is_write) AS writes,
           count(call_ts) FILTER (WHERE is_auth_user) AS auth_user_calls
    FROM rc
    GROUP BY attribution, route, invocation
),
route_targets AS (
    SELECT DISTINCT route, target FROM rc WHERE target IS NOT NULL
),
per_request_target AS (
    SELECT p.attribution, p.route, p.invocation, p.user_id, rt.target,
           count(rc.call_ts) AS calls,
           count(rc.call_ts) FILTER (WHERE rc.is_db) AS db_calls,
           count(rc.call_ts) FILTER (WHERE rc.is_write) AS writes,
           count(rc.call_ts) FILTER (WHERE rc.is_auth_user) AS auth_user_calls
    FROM per_request AS p
    JOIN route_targets AS rt ON rt.route = p.route
    LEFT JOIN rc ON rc.invocation = p.invocation AND rc.target = rt.target
    GROUP BY ALL
),
both_levels AS (
    SELECT * FROM per_request
    UNION ALL
    SELECT * FROM per_request_target
)
SELECT route, target,
       count(*) AS requests,
       count(DISTINCT user_id) AS participants,
       sum(calls)::BIGINT AS calls,
       avg(calls) AS calls_per_request_mean,
       quantile_cont(calls, 0.95) AS calls_per_request_p95,
       max(calls) AS calls_per_request_max,
       avg(db_calls) AS db_calls_per_request_mean,
       min(db_calls) AS db_calls_per_request_min,
       max(db_calls) AS db_calls_per_request_max,
       sum(writes)::BIGINT AS writes,
       avg(writes) AS writes_per_request_mean,
       max(writes) AS writes_per_request_max,
       avg(auth_user_calls) AS auth_user_calls_per_request_mean,
       count(*) / (SELECT minutes FROM presence) AS requests_per_participant_per_minute,
       sum(calls) / (SELECT minutes FROM presence) AS calls_per_participant_per_minute,
       any_value(attribution) AS attribution
FROM both_levels
GROUP BY route, target
ORDER BY route, target = '(all)' DESC, writes DESC, calls DESC, target
