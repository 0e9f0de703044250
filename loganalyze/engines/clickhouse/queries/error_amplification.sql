-- ClickHouse body of queries/error_amplification.sql (same header, same output). The
-- caller, chain and request keys are the text they hash in DuckDB's body (tuples here);
-- the follow-up frame is a RANGE over the call's time in microseconds. The chain key holds
-- no NULL (a table is never ''), so `IN` matches a call of no table to its own chain as
-- DuckDB's hash does; an IN over NULL matches nothing here.
WITH
calls AS (
    SELECT ts, coalesce(user_id, session_id, ip, '?') AS caller,
           det_rest_table(path) AS table_name,
           (caller, coalesce(table_name, '')) AS chain_key,
           (caller, method, path, query) AS request_key,
           status, toInt64(det_is_write(method, path)) AS is_write
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND det_is_db_call(path)
),
-- only chains with a 4xx can yield a row (a request key lies in one chain)
scored AS (
    SELECT *,
           count() OVER chain - 1 AS later_calls,
           sum(is_write) OVER chain - is_write AS later_writes,
           leadInFrame(toNullable(ts)) OVER (PARTITION BY request_key ORDER BY ts
                                             ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS next_same
    FROM calls
    WHERE chain_key IN (SELECT chain_key FROM calls WHERE status BETWEEN 400 AND 499)
    WINDOW chain AS (PARTITION BY chain_key ORDER BY toUnixTimestamp64Micro(ts)
                     RANGE BETWEEN CURRENT ROW AND {follow_within:Int64} FOLLOWING)
),
errors AS (
    SELECT * FROM scored WHERE status BETWEEN 400 AND 499
),
kinds AS (
    SELECT ts, '4xx_then_calls' AS kind, table_name, status, caller, later_calls AS followups
    FROM errors WHERE later_calls > 0
    UNION ALL
    SELECT ts, '4xx_then_writes' AS kind, table_name, status, caller, later_writes AS followups
    FROM errors WHERE later_writes > 0
    UNION ALL
    SELECT ts, '4xx_retried' AS kind, table_name, status, caller, toInt64(1) AS followups
    FROM errors
    WHERE toUnixTimestamp64Micro(next_same) - toUnixTimestamp64Micro(ts) <= {cooldown:Int64}
)
SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start,
       kind, table_name, status,
       count() AS count, toInt64(sum(followups)) AS followups,
       uniqExact(caller) AS users
FROM kinds
GROUP BY window_start, kind, table_name, status
ORDER BY window_start, kind, count DESC, table_name, status
