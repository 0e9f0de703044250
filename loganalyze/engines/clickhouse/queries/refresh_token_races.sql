-- ClickHouse body of queries/refresh_token_races.sql (same header, same output).
WITH '/auth/v1/token' AS auth_path, 'auth' AS prefer,
--@slice_views
--@include _auth_calls
,
refresh_grants AS (
    SELECT *,
           count() OVER (PARTITION BY client_key ORDER BY toUnixTimestamp64Micro(ts)
                         RANGE BETWEEN {reuse_interval:Int64} PRECEDING
                                   AND {reuse_interval:Int64} FOLLOWING) AS nearby_grants
    FROM auth_calls
    WHERE coalesce(grant_type, if(error_code = 'refresh_token_already_used', 'refresh_token', NULL))
          = 'refresh_token'
)
SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start,
       coalesce(call_user, client_key) AS user_id,
       countIf(error_code = 'refresh_token_already_used') AS count,
       countIf(status >= 400 AND nearby_grants >= 2) AS races,
       count() AS grants,
       countIf(status >= 400) AS failed_grants
FROM (SELECT *, user_id AS call_user FROM refresh_grants)
--@slice_filter WHERE
GROUP BY window_start, user_id
HAVING countIf(status >= 400) > 0  --@after_merge
ORDER BY window_start, count DESC, user_id
