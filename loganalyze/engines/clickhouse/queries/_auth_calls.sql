-- Shared part (not a detector): det_auth_calls of queries/_macros.sql as CTEs ending in
-- `auth_calls`, each call to one Auth endpoint once across edge_logs and auth_logs. The
-- including body defines the scalars `auth_path` and `prefer` first. Callers are matched
-- on their key text ('u:' user or 'a:' address) rather than a hash of it.
edge_rows AS (
    SELECT id, ts, method, user_id, ip, session_id,
           det_caller(client_info, user_agent) AS caller, status, latency_ms, error_code,
           nullIf(regexpExtract(query, 'grant_type=([A-Za-z_]+)', 1), '') AS grant_type,
           request_id, det_ray(cf_ray) AS ray, det_plus_ms(ts, latency_ms) AS ends
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND path = auth_path
),
edge_keyed AS (
    SELECT id, ts, ends, concat('u:', assumeNotNull(user_id)) AS match_key
    FROM edge_rows WHERE user_id IS NOT NULL
    UNION ALL
    SELECT id, ts, ends, concat('a:', assumeNotNull(ip)) AS match_key
    FROM edge_rows WHERE ip IS NOT NULL
),
-- reach = the latest end among the caller's rows started so far
edge_spans AS (
    SELECT *, max(ends) OVER (PARTITION BY match_key ORDER BY ts ROWS UNBOUNDED PRECEDING) AS reach
    FROM edge_keyed
),
auth_rows AS (
    SELECT id, ts, method, user_id, remote_addr, status, duration_ms AS latency_ms,
           coalesce(raw_error_code,
                    if(error ILIKE '%Already Used%' OR error ILIKE 'Possible abuse attempt%'
                           OR error ILIKE '%refresh token reuse%',
                       'refresh_token_already_used', NULL)) AS error_code,
           grant_type, request_id, det_ray(request_id) AS ray,
           ts - toIntervalMillisecond(det_round(coalesce(duration_ms, 0))) AS starts,
           coalesce(concat('u:', user_id), concat('a:', remote_addr), '') AS match_key
    FROM (SELECT * EXCEPT (error_code), error_code AS raw_error_code
          FROM auth_logs
          WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')})
    WHERE path = auth_path AND status IS NOT NULL
),
auth_spans AS (
    SELECT id, ts, starts, match_key,
           max(ts) OVER (PARTITION BY match_key ORDER BY starts ROWS UNBOUNDED PRECEDING) AS reach
    FROM auth_rows
),
id_pairs AS (
    SELECT DISTINCT a_id, e_id
    FROM (SELECT a.id AS a_id, e.id AS e_id
          FROM auth_rows AS a INNER JOIN edge_rows AS e ON a.request_id = e.request_id
          UNION ALL
          SELECT a.id AS a_id, e.id AS e_id
          FROM auth_rows AS a INNER JOIN edge_rows AS e ON a.ray = e.ray)
),
auth_seen AS (
    SELECT a_id FROM id_pairs
    UNION DISTINCT
    SELECT a.id AS a_id
    FROM (SELECT *, ts + toIntervalMicrosecond({match_tolerance:Int64}) AS match_ts FROM auth_spans) AS a
    ASOF INNER JOIN (SELECT match_key AS e_key, ts AS e_ts, reach AS e_reach FROM edge_spans) AS e
      ON a.match_key = e.e_key AND a.match_ts >= e.e_ts
    WHERE e.e_reach + toIntervalMicrosecond({match_tolerance:Int64}) >= a.starts
),
edge_seen AS (
    SELECT e_id FROM id_pairs
    UNION DISTINCT
    SELECT e.id AS e_id
    FROM (SELECT *, ends + toIntervalMicrosecond({match_tolerance:Int64}) AS match_ts FROM edge_spans) AS e
    ASOF INNER JOIN (SELECT match_key AS a_key, starts AS a_starts, reach AS a_reach FROM auth_spans) AS a
      ON e.match_key = a.a_key AND e.match_ts >= a.a_starts
    WHERE a.a_reach + toIntervalMicrosecond({match_tolerance:Int64}) >= e.ts
),
-- missing fields come only from a partner with the same request id
auth_partner AS (
    SELECT a_id, any(e_id) AS e_id FROM id_pairs GROUP BY a_id
),
edge_partner AS (
    SELECT e_id, any(a_id) AS a_id FROM id_pairs GROUP BY e_id
),
edge_side AS (
    SELECT e.ts AS ts, 'edge_logs' AS source_table, e.method AS method,
           coalesce(e.user_id, a.user_id) AS user_id,
           coalesce(e.user_id, a.user_id, e.session_id, e.ip) AS client_key,
           e.caller AS caller, e.status AS status, e.latency_ms AS latency_ms,
           coalesce(e.error_code, a.error_code) AS error_code,
           coalesce(e.grant_type, a.grant_type) AS grant_type,
           e.id IN (SELECT e_id FROM edge_seen) AS seen
    FROM edge_rows AS e
    LEFT JOIN edge_partner AS p ON p.e_id = e.id
    LEFT JOIN auth_rows AS a ON a.id = p.a_id
),
auth_side AS (
    SELECT a.ts AS ts, 'auth_logs' AS source_table, a.method AS method,
           coalesce(a.user_id, e.user_id) AS user_id,
           coalesce(a.user_id, e.user_id, a.remote_addr, e.ip) AS client_key,
           coalesce(e.caller, 'unknown') AS caller, a.status AS status,
           a.latency_ms AS latency_ms, coalesce(a.error_code, e.error_code) AS error_code,
           coalesce(a.grant_type, e.grant_type) AS grant_type,
           a.id IN (SELECT a_id FROM auth_seen) AS seen
    FROM auth_rows AS a
    LEFT JOIN auth_partner AS p ON p.a_id = a.id
    LEFT JOIN edge_rows AS e ON e.id = p.e_id
),
auth_calls AS (
    SELECT ts, source_table, method, user_id, client_key, caller, status, latency_ms,
           error_code, grant_type
    FROM edge_side WHERE prefer = 'edge' OR NOT seen
    UNION ALL
    SELECT ts, source_table, method, user_id, client_key, caller, status, latency_ms,
           error_code, grant_type
    FROM auth_side WHERE prefer = 'auth' OR NOT seen
)
