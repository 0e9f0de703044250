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
-- metric requests: count [requests] -- requests
-- metric participants: distinct [participants] -- participants
-- metric calls: count [calls] -- Supabase calls
-- metric calls_per_request_mean: rate [calls/request] -- calls per request (mean)
-- metric calls_per_request_p95: rate [calls/request] -- calls per request (p95)
-- metric calls_per_request_max: peak [calls/request] -- calls per request (max)
-- metric db_calls_per_request_mean: rate [calls/request] -- database calls per request (mean)
-- metric db_calls_per_request_min: min [calls/request] -- database calls per request (min)
-- metric db_calls_per_request_max: peak [calls/request] -- database calls per request (max)
-- metric writes: count [writes] -- writes
-- metric writes_per_request_mean: rate [writes/request] -- writes per request (mean)
-- metric writes_per_request_max: peak [writes/request] -- writes per request (max)
-- metric auth_user_calls_per_request_mean: rate [calls/request] -- /auth/v1/user calls per request (mean)
-- metric requests_per_participant_per_minute: rate [requests/participant/min] -- requests per participant-minute
-- metric calls_per_participant_per_minute: rate [calls/participant/min] -- calls per participant-minute
-- needs: edge_logs
-- caveat edge_logs.user_id: no JWT subjects at the API gateway: participants and per-participant rates cannot be counted
-- caveat vercel_logs: no Vercel function logs: routes are per-user bursts of server-side calls, not app routes
-- rollup: target = (all)
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
           det_target(e.path) AS target,
           det_is_db_call(e.path) AS is_db,
           det_is_write(e.method, e.path) AS is_write,
           det_is_auth_user_call(e.method, e.path) AS is_auth_user
    FROM det_edge($since, $until) AS e
    ANTI JOIN (SELECT call_id FROM routed WHERE call_id IS NOT NULL) AS r
      ON r.call_id = e.id
),
presence AS (
    SELECT minutes FROM det_participant_minutes($since, $until)
),
-- A direct call is a request of its own (its invocation is its edge row's unique id), so
-- its per-request counts are its own flags: only routed calls are grouped (no hash group
-- of millions of one-row groups).
direct_requests AS (
    SELECT attribution, route, invocation, user_id, target, 1::BIGINT AS calls,
           (is_db IS TRUE)::BIGINT AS db_calls,
           (is_write IS TRUE)::BIGINT AS writes,
           (is_auth_user IS TRUE)::BIGINT AS auth_user_calls
    FROM direct
),
per_request AS (
    SELECT attribution, route, invocation, any_value(user_id) AS user_id,
           count(call_ts) AS calls,
           count(call_ts) FILTER (WHERE is_db) AS db_calls,
           count(call_ts) FILTER (WHERE is_write) AS writes,
           count(call_ts) FILTER (WHERE is_auth_user) AS auth_user_calls
    FROM routed
    GROUP BY attribution, route, invocation
    UNION ALL
    SELECT attribution, route, invocation, user_id, calls, db_calls, writes, auth_user_calls
    FROM direct_requests
),
route_rows AS (
    SELECT route, '(all)' AS target,
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
    FROM per_request
    GROUP BY route
),
-- A target's share is computed from the requests that called it; the route's other
-- requests count as zeros (no row per request and target is ever expanded). Requests and
-- participants of a target row are the route's.
per_request_target AS (
    SELECT route, invocation, target,
           count(*) AS calls,
           count(*) FILTER (WHERE is_db) AS db_calls,
           count(*) FILTER (WHERE is_write) AS writes,
           count(*) FILTER (WHERE is_auth_user) AS auth_user_calls
    FROM routed
    WHERE call_ts IS NOT NULL
    GROUP BY route, invocation, target
    UNION ALL
    SELECT route, invocation, target, calls, db_calls, writes, auth_user_calls
    FROM direct_requests
),
target_rows AS (
    SELECT t.route, t.target,
           any_value(r.requests) AS requests,
           any_value(r.participants) AS participants,
           sum(t.calls)::BIGINT AS calls,
           sum(t.calls) / any_value(r.requests) AS calls_per_request_mean,
           det_padded_quantile(list_sort(list(t.calls)), any_value(r.requests) - count(*),
                               0.95) AS calls_per_request_p95,
           max(t.calls) AS calls_per_request_max,
           sum(t.db_calls) / any_value(r.requests) AS db_calls_per_request_mean,
           CASE WHEN any_value(r.requests) > count(*) THEN 0 ELSE min(t.db_calls) END
               AS db_calls_per_request_min,
           max(t.db_calls) AS db_calls_per_request_max,
           sum(t.writes)::BIGINT AS writes,
           sum(t.writes) / any_value(r.requests) AS writes_per_request_mean,
           max(t.writes) AS writes_per_request_max,
           sum(t.auth_user_calls) / any_value(r.requests) AS auth_user_calls_per_request_mean,
           any_value(r.requests) / (SELECT minutes FROM presence)
               AS requests_per_participant_per_minute,
           sum(t.calls) / (SELECT minutes FROM presence) AS calls_per_participant_per_minute,
           any_value(r.attribution) AS attribution
    FROM per_request_target AS t
    JOIN route_rows AS r ON r.route = t.route
    GROUP BY t.route, t.target
)
SELECT * FROM route_rows
UNION ALL
SELECT * FROM target_rows
ORDER BY route, target = '(all)' DESC, writes DESC, calls DESC, target
