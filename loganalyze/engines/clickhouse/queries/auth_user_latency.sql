-- ClickHouse body of queries/auth_user_latency.sql (same header, same output).
-- Percentiles: quantileExactInclusive interpolates between order statistics exactly as
-- DuckDB's quantile_cont does; the two differ only by floating-point rounding (as does
-- the mean, summed in another order).
WITH '/auth/v1/user' AS auth_path, {prefer:String} AS prefer,
--@slice_views
--@include _auth_calls
SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start,
       if({per_user:Bool}, call_user, CAST(NULL AS Nullable(String))) AS user_id,
       if({per_caller:Bool}, call_caller, '(all)') AS caller,
       count() AS count,
       uniqExact(call_user) AS users,
       countIf(status >= 400) AS errors,
       avg(latency_ms) AS mean_ms,
       quantileExactInclusive(0.5)(latency_ms) AS p50_ms,
       quantileExactInclusive(0.95)(latency_ms) AS p95_ms,
       quantileExactInclusive(0.99)(latency_ms) AS p99_ms,
       max(latency_ms) AS max_ms,
       arrayStringConcat(arraySort(groupUniqArray(source_table)), ',') AS sources
FROM (SELECT *, user_id AS call_user, caller AS call_caller FROM auth_calls)
WHERE coalesce(upper(method), 'GET') = 'GET'
--@slice_filter AND
  AND throwIf(prefer NOT IN ('edge', 'auth'), 'invalid parameter prefer: use edge or auth') = 0
GROUP BY window_start, user_id, caller
ORDER BY window_start, caller, count DESC, user_id
