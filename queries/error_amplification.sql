-- name: error_amplification
-- title: Error amplification (4xx followed by more calls, 4xx retried)
-- finds: Data API 4xx responses that the same caller (JWT user, else session, else IP)
--   followed within follow_within by further calls on the same table
--   (kind 4xx_then_calls), by writes on it (kind 4xx_then_writes: the "400 then INSERT"
--   chain), and 4xx responses whose identical request (method, path, query) the caller
--   repeated within cooldown (kind 4xx_retried: the circuit-breaker rule). count = the 4xx
--   responses of that kind; followups = the calls that followed them.
-- rank: 15
-- param follow_within: interval = 5s -- how soon a follow-up call counts as part of the chain
-- param cooldown: interval = 30s -- a 4xx repeated sooner than this is a retry
-- subject: kind, table_name, status
-- metric count: count [responses] -- 4xx responses
-- metric followups: count [calls] -- follow-up calls
-- metric users: distinct [callers] -- callers
-- needs: edge_logs
-- caveat edge_logs.user_id: no JWT subjects at the API gateway: callers are told apart by session or IP only, so callers behind one address merge into one and their follow-ups add up
-- example edge_logs: status BETWEEN 400 AND 499 AND path LIKE '/rest/v1/%'
-- events: count
WITH calls AS (
    -- Partition keys are hashed: sorting on long query strings costs more than the rest.
    SELECT ts, hash(coalesce(user_id, session_id, ip, '?')) AS caller,
           hash(coalesce(user_id, session_id, ip, '?'), det_rest_table(path)) AS chain_key,
           hash(coalesce(user_id, session_id, ip, '?'), method, path, query) AS request_key,
           status, det_rest_table(path) AS table_name,
           det_is_write(method, path)::INTEGER AS is_write
    FROM det_edge($since, $until)
    WHERE det_is_db_call(path)
),
-- Only chains with a 4xx can yield a row, and a chain's counts come from its own calls:
-- the windows below sort just those chains (a request key lies in one chain).
erring_chains AS (
    SELECT DISTINCT chain_key FROM calls WHERE status BETWEEN 400 AND 499
),
scored AS (
    SELECT *,
           count(*) OVER chain - 1 AS later_calls,
           sum(is_write) OVER chain - is_write AS later_writes,
           lead(ts) OVER (PARTITION BY request_key ORDER BY ts) AS next_same
    FROM calls
    SEMI JOIN erring_chains USING (chain_key)
    WINDOW chain AS (PARTITION BY chain_key ORDER BY ts
                     RANGE BETWEEN CURRENT ROW AND $follow_within FOLLOWING)
),
errors AS (
    SELECT * FROM scored WHERE status BETWEEN 400 AND 499
),
kinds AS (
    SELECT ts, '4xx_then_calls' AS kind, table_name, status, caller,
           later_calls AS followups
    FROM errors WHERE later_calls > 0
    UNION ALL
    SELECT ts, '4xx_then_writes', table_name, status, caller, later_writes
    FROM errors WHERE later_writes > 0
    UNION ALL
    SELECT ts, '4xx_retried', table_name, status, caller, 1
    FROM errors WHERE next_same - ts <= $cooldown
)
SELECT time_bucket($window, ts, $origin) AS window_start, kind, table_name, status,
       count(*) AS count, sum(followups)::BIGINT AS followups,
       count(DISTINCT caller) AS users
FROM kinds
GROUP BY ALL
ORDER BY window_start, kind, count DESC, table_name, status
