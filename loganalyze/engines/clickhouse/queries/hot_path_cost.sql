-- ClickHouse body of queries/hot_path_cost.sql (same header, same output). The route
-- attribution is the shared part _route_calls; the p95 of a target row pads the route's
-- requests that never called the target with zeros, as det_padded_quantile does.
WITH
--@include _route_calls
,
routed AS (
    SELECT * FROM route_calls
),
direct AS (
    SELECT 'direct' AS attribution, id AS invocation,
           if(det_caller(client_info, user_agent) = 'browser', '(browser)', '(unattributed)')
               AS route,
           user_id, det_target(path) AS target,
           det_is_db_call(path) AS is_db,
           det_is_write(method, path) AS is_write,
           det_is_auth_user_call(method, path) AS is_auth_user
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND id NOT IN (SELECT assumeNotNull(call_id) FROM routed WHERE call_id IS NOT NULL)
),
(SELECT minutes FROM participant_minutes) AS presence_minutes,
-- a direct call is a request of its own: its per-request counts are its own flags
direct_requests AS (
    SELECT attribution, route, invocation, user_id, target, toInt64(1) AS calls,
           toInt64(is_db IS NOT NULL AND is_db) AS db_calls,
           toInt64(is_write IS NOT NULL AND is_write) AS writes,
           toInt64(is_auth_user IS NOT NULL AND is_auth_user) AS auth_user_calls
    FROM direct
),
per_request AS (
    SELECT attribution, route, invocation, any(user_id) AS user_id,
           toInt64(count(call_ts)) AS n_calls,
           toInt64(countIf(call_ts IS NOT NULL AND is_db)) AS n_db_calls,
           toInt64(countIf(call_ts IS NOT NULL AND is_write)) AS n_writes,
           toInt64(countIf(call_ts IS NOT NULL AND is_auth_user)) AS n_auth_user_calls
    FROM routed
    GROUP BY attribution, route, invocation
    UNION ALL
    SELECT attribution, route, invocation, user_id, calls AS n_calls, db_calls AS n_db_calls,
           writes AS n_writes, auth_user_calls AS n_auth_user_calls
    FROM direct_requests
),
route_rows AS (
    SELECT route, '(all)' AS target,
           toInt64(count()) AS requests,
           toInt64(uniqExact(user_id)) AS participants,
           toInt64(sum(n_calls)) AS calls,
           sum(n_calls) / count() AS calls_per_request_mean,
           quantileExactInclusive(0.95)(n_calls) AS calls_per_request_p95,
           max(n_calls) AS calls_per_request_max,
           sum(n_db_calls) / count() AS db_calls_per_request_mean,
           min(n_db_calls) AS db_calls_per_request_min,
           max(n_db_calls) AS db_calls_per_request_max,
           toInt64(sum(n_writes)) AS writes,
           sum(n_writes) / count() AS writes_per_request_mean,
           max(n_writes) AS writes_per_request_max,
           sum(n_auth_user_calls) / count() AS auth_user_calls_per_request_mean,
           count() / presence_minutes AS requests_per_participant_per_minute,
           calls / presence_minutes AS calls_per_participant_per_minute,
           any(attribution) AS attribution
    FROM per_request
    GROUP BY route
),
-- a target's share, from the requests that called it; the route's other requests count
-- as zeros
per_request_target AS (
    SELECT route, invocation, target,
           toInt64(count()) AS n_calls,
           toInt64(countIf(is_db)) AS n_db_calls,
           toInt64(countIf(is_write)) AS n_writes,
           toInt64(countIf(is_auth_user)) AS n_auth_user_calls
    FROM routed
    WHERE call_ts IS NOT NULL
    GROUP BY route, invocation, target
    UNION ALL
    SELECT route, invocation, target, calls AS n_calls, db_calls AS n_db_calls,
           writes AS n_writes, auth_user_calls AS n_auth_user_calls
    FROM direct_requests
),
target_rows AS (
    SELECT t.route AS route, t.target AS target,
           any(r.requests) AS requests,
           any(r.participants) AS participants,
           toInt64(sum(t.n_calls)) AS calls,
           sum(t.n_calls) / any(r.requests) AS calls_per_request_mean,
           det_padded_quantile(arraySort(groupArray(t.n_calls)), any(r.requests) - count(), 0.95)
               AS calls_per_request_p95,
           max(t.n_calls) AS calls_per_request_max,
           sum(t.n_db_calls) / any(r.requests) AS db_calls_per_request_mean,
           if(any(r.requests) > count(), 0, min(t.n_db_calls)) AS db_calls_per_request_min,
           max(t.n_db_calls) AS db_calls_per_request_max,
           toInt64(sum(t.n_writes)) AS writes,
           sum(t.n_writes) / any(r.requests) AS writes_per_request_mean,
           max(t.n_writes) AS writes_per_request_max,
           sum(t.n_auth_user_calls) / any(r.requests) AS auth_user_calls_per_request_mean,
           any(r.requests) / presence_minutes AS requests_per_participant_per_minute,
           calls / presence_minutes AS calls_per_participant_per_minute,
           any(r.attribution) AS attribution
    FROM per_request_target AS t
    INNER JOIN (SELECT route AS r_route, requests, participants, attribution
                FROM route_rows) AS r ON r.r_route = t.route
    GROUP BY t.route, t.target
)
SELECT * FROM (SELECT * FROM route_rows UNION ALL SELECT * FROM target_rows)
ORDER BY route, target = '(all)' DESC, writes DESC, calls DESC, target
