-- ClickHouse body of queries/load_projection.sql (same header, same output). The route
-- attribution and the participant-minutes are the shared part _route_calls.
WITH
--@include _route_calls
,
measured AS (
    SELECT anyOrNull(p.participants) AS participants,
           count() AS n_calls,
           countIf(det_is_db_call(e.path)) AS n_db_calls,
           countIf(det_is_auth_user_call(e.method, e.path)) AS n_auth_user_calls,
           anyOrNull(p.minutes) AS minutes
    FROM (SELECT path, method FROM edge_logs
          WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}) AS e
    CROSS JOIN participant_minutes AS p
),
per_request AS (
    SELECT route, invocation,
           count(call_ts) AS r_calls,
           countIf(call_ts IS NOT NULL AND is_db) AS r_db_calls,
           countIf(call_ts IS NOT NULL AND is_auth_user) AS r_auth_user_calls
    FROM route_calls
    GROUP BY route, invocation
),
routes AS (
    SELECT route, toInt64(count()) AS requests, toInt64(sum(r_calls)) AS calls,
           toInt64(sum(r_db_calls)) AS db_calls,
           toInt64(sum(r_auth_user_calls)) AS auth_user_calls
    FROM per_request
    GROUP BY route
),
routed_totals AS (
    SELECT toInt64(sum(calls)) AS routed_calls, toInt64(sum(db_calls)) AS routed_db_calls,
           toInt64(sum(auth_user_calls)) AS routed_auth_user_calls
    FROM routes
),
direct AS (
    SELECT '(direct)' AS route,
           toInt64(m.n_calls) - t.routed_calls AS requests,
           toInt64(m.n_calls) - t.routed_calls AS calls,
           toInt64(m.n_db_calls) - t.routed_db_calls AS db_calls,
           toInt64(m.n_auth_user_calls) - t.routed_auth_user_calls AS auth_user_calls
    FROM measured AS m CROSS JOIN routed_totals AS t
),
parts AS (
    SELECT * FROM routes
    UNION ALL
    SELECT * FROM direct WHERE requests > 0
),
rates AS (
    SELECT p.route AS route, p.requests AS requests,
           p.requests / m.minutes AS requests_per_participant_per_minute,
           p.db_calls / nullIf(p.requests, 0) AS db_calls_per_request,
           p.auth_user_calls / nullIf(p.requests, 0) AS auth_user_calls_per_request,
           toNullable(toInt64(m.participants)) AS participants
    FROM parts AS p CROSS JOIN measured AS m
),
projected AS (
    SELECT route, {attendees:Int64} AS attendees, participants, requests,
           requests_per_participant_per_minute, db_calls_per_request,
           auth_user_calls_per_request,
           {attendees:Int64} * requests_per_participant_per_minute
               AS projected_requests_per_minute,
           {attendees:Int64} * requests_per_participant_per_minute * db_calls_per_request
               AS projected_db_calls_per_minute,
           {attendees:Int64} * requests_per_participant_per_minute * auth_user_calls_per_request
               AS projected_auth_user_calls_per_minute
    FROM rates
),
total AS (
    SELECT '(total)' AS route, any(attendees) AS attendees, any(participants) AS participants,
           toInt64(sum(requests)) AS requests,
           CAST(NULL AS Nullable(Float64)) AS requests_per_participant_per_minute,
           CAST(NULL AS Nullable(Float64)) AS db_calls_per_request,
           CAST(NULL AS Nullable(Float64)) AS auth_user_calls_per_request,
           sum(projected_requests_per_minute) AS projected_requests_per_minute,
           sum(projected_db_calls_per_minute) AS projected_db_calls_per_minute,
           sum(projected_auth_user_calls_per_minute) AS projected_auth_user_calls_per_minute
    FROM projected
    HAVING count() > 0
)
SELECT * FROM (SELECT * FROM projected UNION ALL SELECT * FROM total)
ORDER BY route = '(total)', route = '(direct)', route
