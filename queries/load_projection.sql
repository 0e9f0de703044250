-- name: load_projection
-- title: Load projection at N attendees
-- finds: the database calls (/rest/v1) and GET /auth/v1/user calls per minute that
--   `attendees` participants would cause, from the measured per-request costs of each
--   app route (hot_path_cost's attribution) and each route's requests per participant per
--   minute; '(direct)' is every call no route made (browser calls, anonymous calls), as a
--   per-participant rate; '(total)' adds them up. Rates are per participant-minute
--   (det_participant_minutes in _macros.sql: each user's minutes from first call to the
--   end of the range), so pass --until at the end of the event for a replay.
-- rank: 110
-- windowed: false
-- param attendees: integer = 1000 -- the audience size to project to
-- param burst_gap: interval = 1s -- without vercel_logs: the longest pause inside one burst
-- subject: route
-- metric attendees: level [participants] -- attendees projected
-- metric participants: distinct [participants] -- participants measured
-- metric requests: count [requests] -- requests
-- metric requests_per_participant_per_minute: rate [requests/participant/min] -- requests per participant-minute
-- metric db_calls_per_request: rate [calls/request] -- database calls per request
-- metric auth_user_calls_per_request: rate [calls/request] -- /auth/v1/user calls per request
-- metric projected_requests_per_minute: rate [requests/min] -- projected requests per minute
-- metric projected_db_calls_per_minute: rate [calls/min] -- projected database calls per minute
-- metric projected_auth_user_calls_per_minute: rate [calls/min] -- projected /auth/v1/user calls per minute
-- needs: edge_logs
-- caveat edge_logs.user_id: no JWT subjects at the API gateway: per-participant rates, and so the projection, cannot be computed
-- rollup: route = (total)
-- events: requests
WITH edge AS (
    SELECT user_id, det_is_db_call(path) AS is_db,
           det_is_auth_user_call(method, path) AS is_auth_user
    FROM det_edge($since, $until)
),
measured AS (
    SELECT any_value(p.participants) AS participants,
           count(*) AS calls,
           count(*) FILTER (WHERE is_db) AS db_calls,
           count(*) FILTER (WHERE is_auth_user) AS auth_user_calls,
           any_value(p.minutes) AS minutes
    FROM edge, det_participant_minutes($since, $until) AS p
),
per_request AS (
    SELECT route, invocation,
           count(call_ts) AS calls,
           count(call_ts) FILTER (WHERE is_db) AS db_calls,
           count(call_ts) FILTER (WHERE is_auth_user) AS auth_user_calls
    FROM det_route_calls($since, $until, $burst_gap)
    GROUP BY route, invocation
),
routes AS (
    SELECT route, count(*) AS requests, sum(calls) AS calls, sum(db_calls) AS db_calls,
           sum(auth_user_calls) AS auth_user_calls
    FROM per_request
    GROUP BY route
),
direct AS (
    SELECT '(direct)' AS route,
           m.calls - coalesce(sum(r.calls), 0) AS requests,
           m.calls - coalesce(sum(r.calls), 0) AS calls,
           m.db_calls - coalesce(sum(r.db_calls), 0) AS db_calls,
           m.auth_user_calls - coalesce(sum(r.auth_user_calls), 0) AS auth_user_calls
    FROM measured AS m
    LEFT JOIN routes AS r ON true
    GROUP BY m.calls, m.db_calls, m.auth_user_calls
),
parts AS (
    SELECT * FROM routes
    UNION ALL
    SELECT * FROM direct WHERE requests > 0
),
rates AS (
    SELECT p.route, p.requests::BIGINT AS requests,
           p.requests / m.minutes AS requests_per_participant_per_minute,
           p.db_calls / nullif(p.requests, 0) AS db_calls_per_request,
           p.auth_user_calls / nullif(p.requests, 0) AS auth_user_calls_per_request,
           m.participants
    FROM parts AS p, measured AS m
),
projected AS (
    SELECT route, $attendees::BIGINT AS attendees, participants, requests,
           requests_per_participant_per_minute, db_calls_per_request,
           auth_user_calls_per_request,
           $attendees * requests_per_participant_per_minute AS projected_requests_per_minute,
           $attendees * requests_per_participant_per_minute * db_calls_per_request
               AS projected_db_calls_per_minute,
           $attendees * requests_per_participant_per_minute * auth_user_calls_per_request
               AS projected_auth_user_calls_per_minute
    FROM rates
)
SELECT * FROM projected
UNION ALL
SELECT '(total)', any_value(attendees), any_value(participants), sum(requests)::BIGINT,
       NULL, NULL, NULL,
       sum(projected_requests_per_minute),
       sum(projected_db_calls_per_minute),
       sum(projected_auth_user_calls_per_minute)
FROM projected
HAVING count(*) > 0
ORDER BY route = '(total)', route = '(direct)', route
