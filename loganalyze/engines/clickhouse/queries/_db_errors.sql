-- Shared part (not a detector): det_db_errors of queries/_macros.sql as CTEs ending in
-- `db_errors`, each database error once across postgres_logs, postgrest_logs and
-- edge_logs. Raw columns are renamed on the way in because a ClickHouse alias is visible in
-- the whole SELECT: `det_normalize_message(message) AS message` would otherwise feed the
-- normalized text to the other functions.
pg AS (
    SELECT ts, materialize('postgres_logs') AS source_table, raw_sqlstate AS sqlstate,
           det_relation(raw_message, raw_statement) AS relation,
           det_column(raw_message) AS column_name,
           det_constraint(raw_message) AS constraint_name,
           det_normalize_message(raw_message) AS message,
           materialize(CAST(NULL AS Nullable(Int32))) AS status,
           materialize(CAST(NULL AS Nullable(String))) AS path,
           materialize(CAST(NULL AS Nullable(String))) AS user_id
    FROM (SELECT ts, sqlstate AS raw_sqlstate, message AS raw_message,
                 statement AS raw_statement, severity
          FROM postgres_logs
          WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')})
    WHERE raw_sqlstate IS NOT NULL AND raw_sqlstate NOT LIKE '00%' AND raw_sqlstate NOT LIKE '01%'
      AND upper(coalesce(severity, 'ERROR')) IN ('ERROR', 'FATAL', 'PANIC')
),
rest AS (
    SELECT ts, materialize('postgrest_logs') AS source_table,
           coalesce(raw_sqlstate, det_status_sqlstate(raw_status)) AS sqlstate,
           coalesce(det_relation(raw_message, CAST(NULL AS Nullable(String))),
                    det_rest_table(raw_path)) AS relation,
           det_column(raw_message) AS column_name, det_constraint(raw_message) AS constraint_name,
           det_normalize_message(raw_message) AS message, raw_status AS status,
           raw_path AS path, materialize(CAST(NULL AS Nullable(String))) AS user_id
    FROM (SELECT ts, sqlstate AS raw_sqlstate, message AS raw_message, status AS raw_status,
                 path AS raw_path
          FROM postgrest_logs
          WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')})
    WHERE coalesce(raw_sqlstate, det_status_sqlstate(raw_status)) IS NOT NULL
),
rest_only AS (
    SELECT r.ts AS ts, r.source_table AS source_table, r.sqlstate AS sqlstate,
           r.relation AS relation, r.column_name AS column_name,
           r.constraint_name AS constraint_name, r.message AS message, r.status AS status,
           r.path AS path, r.user_id AS user_id
    FROM (SELECT *, assumeNotNull(sqlstate) AS code_key, coalesce(relation, '') AS relation_key,
                 ts + toIntervalMicrosecond({match_tolerance:Int64}) AS match_ts
          FROM rest) AS r
    ASOF LEFT JOIN (SELECT ts AS p_ts, assumeNotNull(sqlstate) AS p_code_key,
                           coalesce(relation, '') AS p_relation_key
                    FROM pg) AS p
      ON r.code_key = p.p_code_key AND r.relation_key = p.p_relation_key AND r.match_ts >= p.p_ts
    WHERE p.p_ts IS NULL OR p.p_ts < r.ts - toIntervalMicrosecond({match_tolerance:Int64})
),
primary_events AS (
    SELECT * FROM pg UNION ALL SELECT * FROM rest_only
),
edge AS (
    SELECT ts, materialize('edge_logs') AS source_table,
           coalesce(error_code, det_status_sqlstate(status)) AS sqlstate,
           det_rest_table(path) AS relation,
           materialize(CAST(NULL AS Nullable(String))) AS column_name,
           materialize(CAST(NULL AS Nullable(String))) AS constraint_name,
           materialize(CAST(NULL AS Nullable(String))) AS message, status, path, user_id,
           det_plus_ms(ts, latency_ms) + toIntervalMicrosecond({match_tolerance:Int64}) AS match_until
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND coalesce(error_code, det_status_sqlstate(status)) IS NOT NULL
      AND (path LIKE '/rest/v1/%' OR error_code IS NOT NULL)
      -- GoTrue's error codes (refresh_token_already_used, ...) ride the same header
      AND match(coalesce(error_code, det_status_sqlstate(status)), '^(?:[0-9A-Z]{5}|PGRST[0-9]{3})$')
),
edge_only AS (
    SELECT e.ts AS ts, e.source_table AS source_table, e.sqlstate AS sqlstate,
           e.relation AS relation, e.column_name AS column_name,
           e.constraint_name AS constraint_name, e.message AS message, e.status AS status,
           e.path AS path, e.user_id AS user_id
    FROM (SELECT *, assumeNotNull(sqlstate) AS code_key, coalesce(relation, '') AS relation_key
          FROM edge) AS e
    ASOF LEFT JOIN (SELECT ts AS p_ts, assumeNotNull(sqlstate) AS p_code_key,
                           coalesce(relation, '') AS p_relation_key
                    FROM primary_events) AS p
      ON e.code_key = p.p_code_key AND e.relation_key = p.p_relation_key AND e.match_until >= p.p_ts
    WHERE p.p_ts IS NULL OR p.p_ts < e.ts - toIntervalMicrosecond({match_tolerance:Int64})
),
db_errors AS (
    SELECT * FROM primary_events UNION ALL SELECT * FROM edge_only
)
