-- name: refresh_token_races
-- title: Refresh-token races
-- finds: refresh_token_already_used failures per window and user (or client address when
--   the user is unknown), and races: a failed refresh grant with another refresh grant of
--   the same user within reuse_interval of it. From auth_logs and edge_logs
--   (POST /auth/v1/token), each call once.
-- rank: 50
-- headline: refresh_token_already_used
-- param reuse_interval: interval = 10s -- GoTrue's refresh-token reuse interval (hosted default 10 s)
-- param match_tolerance: interval = 2s -- how far apart edge and auth rows of one call may be
-- subject: user_id
-- metric count: count [failures] -- refresh_token_already_used failures
-- metric races: count [races] -- races
-- metric grants: count [grants] -- refresh grants
-- metric failed_grants: count [grants] -- failed refresh grants
-- needs: auth_logs | edge_logs
-- example auth_logs: error_code = 'refresh_token_already_used'
-- example edge_logs: error_code = 'refresh_token_already_used'
-- events: count
WITH grants AS (
    SELECT *,
           count(*) OVER (PARTITION BY client_key ORDER BY ts
                          RANGE BETWEEN $reuse_interval PRECEDING
                                    AND $reuse_interval FOLLOWING) AS nearby_grants
    FROM det_auth_calls($since, $until, '/auth/v1/token', $match_tolerance, 'auth')
    WHERE coalesce(grant_type, CASE WHEN error_code = 'refresh_token_already_used'
                                    THEN 'refresh_token' END) = 'refresh_token'
)
SELECT time_bucket($window, ts, $origin) AS window_start,
       coalesce(user_id, client_key) AS user_id,
       count(*) FILTER (WHERE error_code = 'refresh_token_already_used') AS count,
       count(*) FILTER (WHERE status >= 400 AND nearby_grants >= 2) AS races,
       count(*) AS grants,
       count(*) FILTER (WHERE status >= 400) AS failed_grants
FROM grants
GROUP BY ALL
HAVING count(*) FILTER (WHERE status >= 400) > 0
ORDER BY window_start, count DESC, user_id
