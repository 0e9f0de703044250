-- Shared part (not a detector): the normalized tables the detector bodies read, as views
-- of the Supabase log store's one `logs` table over the request's range. Each column is
-- what `loganalyze ingest` (loganalyze/ingest/supabase_hosted.py) stores for a
-- ClickHouse-era row: the attribute of `log_attributes`, then the same fallbacks
-- (event_message summary line, GoTrue JSON line). Rows ingest would reject (a status that
-- is not a number) are left out here too. Types are those of the ClickHouse DDL.
sb_edge AS (
    SELECT id AS row_id, timestamp AS row_ts, sb_text(event_message) AS em,
           splitByString(' | ', event_message) AS em_parts,
           sb_text(log_attributes['request.method']) AS raw_method,
           sb_text(log_attributes['request.path']) AS raw_path,
           sb_text(log_attributes['request.search']) AS raw_query,
           sb_text(log_attributes['response.status_code']) AS raw_status,
           sb_double(sb_text(log_attributes['response.origin_time'])) AS raw_latency,
           coalesce(sb_text(log_attributes['request.sb.jwt.authorization.payload.subject']),
                    sb_text(log_attributes['request.sb.auth_user'])) AS raw_user,
           sb_text(log_attributes['request.sb.jwt.authorization.payload.role']) AS raw_role,
           sb_text(log_attributes['request.sb.jwt.authorization.payload.session_id']) AS raw_session,
           sb_text(log_attributes['request.headers.x_client_info']) AS raw_client_info,
           sb_text(log_attributes['request.headers.user_agent']) AS raw_user_agent,
           coalesce(sb_text(log_attributes['request.headers.cf_connecting_ip']),
                    sb_text(log_attributes['request.headers.x_real_ip'])) AS raw_ip,
           coalesce(sb_text(log_attributes['response.headers.cf_ray']),
                    sb_text(log_attributes['request.headers.cf_ray'])) AS raw_ray,
           sb_text(log_attributes['response.headers.proxy_status']) AS raw_proxy_status,
           sb_text(log_attributes['response.headers.x_sb_error_code']) AS raw_sb_error,
           sb_text(log_attributes['response.headers.sb_request_id']) AS raw_request_id
    FROM logs
    WHERE source = 'edge_logs'
      AND timestamp >= {since:DateTime64(6, 'UTC')} AND timestamp < {until:DateTime64(6, 'UTC')}
),
edge_logs AS (
    SELECT row_id AS id, row_ts AS ts,
           CAST(coalesce(raw_method, if(em IS NULL, NULL, em_parts[1])) AS Nullable(String)) AS method,
           CAST(coalesce(if(raw_path IS NULL, NULL, nullIf(splitByChar('?', assumeNotNull(raw_path))[1], '')),
                         nullIf(regexpExtract(coalesce(sb_em_url(em_parts), ''), '^[a-z]+://[^/]+(/[^?#]*)', 1), ''))
                AS Nullable(String)) AS path,
           CAST(coalesce(raw_query,
                         if(position(coalesce(raw_path, ''), '?') > 0,
                            substring(assumeNotNull(raw_path), position(assumeNotNull(raw_path), '?')), NULL),
                         nullIf(regexpExtract(coalesce(sb_em_url(em_parts), ''), '(\\?[^#]*)', 1), ''))
                AS Nullable(String)) AS query,
           CAST(coalesce(sb_int(raw_status), if(em IS NULL, NULL, sb_int(em_parts[2]))) AS Nullable(Int32)) AS status,
           CAST(raw_latency AS Nullable(Float64)) AS latency_ms,
           CAST(raw_user AS Nullable(String)) AS user_id,
           CAST(raw_role AS Nullable(String)) AS role,
           CAST(raw_session AS Nullable(String)) AS session_id,
           CAST(raw_client_info AS Nullable(String)) AS client_info,
           CAST(coalesce(raw_user_agent, sb_em_part(em_parts, -1, 4)) AS Nullable(String)) AS user_agent,
           CAST(coalesce(raw_ip, sb_em_part(em_parts, 3, 6)) AS Nullable(String)) AS ip,
           CAST(raw_ray AS Nullable(String)) AS cf_ray,
           CAST(coalesce(nullIf(regexpExtract(coalesce(raw_proxy_status, ''), 'error=([A-Za-z0-9]+)', 1), ''),
                         raw_sb_error) AS Nullable(String)) AS error_code,
           CAST(raw_request_id AS Nullable(String)) AS request_id
    FROM sb_edge
    WHERE NOT sb_not_number(raw_status)
),
sb_postgres AS (
    SELECT id AS row_id, timestamp AS row_ts, sb_text(event_message) AS em,
           sb_text(log_attributes['parsed.error_severity']) AS raw_severity,
           sb_text(severity_text) AS raw_severity_text,
           nullIf(regexpExtract(event_message, '\\b(LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]?):  ', 1), '') AS em_severity,
           nullIf(regexpExtract(event_message, '\\b(?:LOG|ERROR|WARNING|FATAL|PANIC|NOTICE|INFO|DEBUG[1-5]?|STATEMENT|DETAIL|HINT|CONTEXT):  (.*)$', 1), '') AS em_tail,
           sb_text(log_attributes['parsed.message']) AS raw_message,
           sb_text(log_attributes['parsed.timestamp']) AS raw_parsed_ts,
           sb_text(log_attributes['parsed.sql_state_code']) AS raw_sqlstate,
           sb_text(log_attributes['parsed.query']) AS raw_statement,
           sb_text(log_attributes['parsed.command_tag']) AS raw_command_tag
    FROM logs
    WHERE source = 'postgres_logs'
      AND timestamp >= {since:DateTime64(6, 'UTC')} AND timestamp < {until:DateTime64(6, 'UTC')}
),
postgres_logs AS (
    SELECT row_id AS id, row_ts AS ts,
           CAST(upper(coalesce(raw_severity, raw_severity_text, em_severity)) AS Nullable(String)) AS severity,
           CAST(raw_sqlstate AS Nullable(String)) AS sqlstate,
           CAST(pg_message AS Nullable(String)) AS message,
           CAST(raw_statement AS Nullable(String)) AS statement,
           CAST(sb_double(regexpExtract(coalesce(pg_message, ''), '^duration: ([0-9.]+) ms', 1)) AS Nullable(Float64)) AS duration_ms,
           CAST(raw_command_tag AS Nullable(String)) AS command_tag
    FROM (SELECT *, coalesce(raw_message, if(raw_parsed_ts IS NULL, em_tail, NULL), em) AS pg_message
          FROM sb_postgres)
),
sb_postgrest AS (
    SELECT id AS row_id, timestamp AS row_ts, sb_text(event_message) AS em,
           extractGroups(event_message,
               '^(\\S+) - (\\S+) \\[([^\\]]+)\\] "(\\S+) (\\S+)[^"]*" (\\d{3}) (\\S+) "([^"]*)" "([^"]*)"') AS access
    FROM logs
    WHERE source = 'postgrest_logs'
      AND timestamp >= {since:DateTime64(6, 'UTC')} AND timestamp < {until:DateTime64(6, 'UTC')}
),
postgrest_logs AS (
    SELECT row_id AS id, row_ts AS ts,
           CAST(em AS Nullable(String)) AS message,
           CAST(sb_int(access[6]) AS Nullable(Int32)) AS status,
           CAST(nullIf(splitByChar('?', access[5])[1], '') AS Nullable(String)) AS path,
           -- a diagnostic line's code is inferred from its text by ingest, not here
           CAST(NULL AS Nullable(String)) AS sqlstate
    FROM sb_postgrest
),
sb_auth_raw AS (
    SELECT id AS row_id, timestamp AS row_ts, event_message AS line,
           coalesce(sb_text(log_attributes['msg']), sb_text(sb_line(line, 'msg'))) AS raw_msg,
           coalesce(sb_text(log_attributes['method']), sb_text(sb_line(line, 'method'))) AS raw_method,
           coalesce(sb_text(log_attributes['path']), sb_text(sb_line(line, 'path'))) AS raw_path,
           coalesce(sb_text(log_attributes['status']), sb_text(sb_line(line, 'status'))) AS raw_status,
           coalesce(sb_text(log_attributes['duration']), sb_text(sb_line(line, 'duration'))) AS raw_duration,
           coalesce(sb_text(log_attributes['error_code']), sb_text(sb_line(line, 'error_code'))) AS raw_error_code,
           coalesce(sb_text(log_attributes['error']), sb_text(sb_line(line, 'error'))) AS raw_error,
           coalesce(sb_text(log_attributes['request_id']), sb_text(sb_line(line, 'request_id')),
                    sb_text(log_attributes['auth_audit_event.request_id']),
                    sb_text(sb_line2(line, 'auth_audit_event', 'request_id'))) AS raw_request_id,
           coalesce(sb_text(log_attributes['grant_type']), sb_text(sb_line(line, 'grant_type'))) AS raw_grant_type,
           coalesce(sb_text(log_attributes['auth_event.actor_id']), sb_text(sb_line2(line, 'auth_event', 'actor_id')),
                    sb_text(log_attributes['auth_audit_event.actor_id']),
                    sb_text(sb_line2(line, 'auth_audit_event', 'actor_id')),
                    sb_text(log_attributes['user_id']), sb_text(sb_line(line, 'user_id'))) AS raw_user,
           coalesce(sb_text(log_attributes['remote_addr']), sb_text(sb_line(line, 'remote_addr'))) AS raw_remote_addr
    FROM logs
    WHERE source = 'auth_logs'
      AND timestamp >= {since:DateTime64(6, 'UTC')} AND timestamp < {until:DateTime64(6, 'UTC')}
),
-- GoTrue before v2.194 logged a failed request's error on a sibling line of the same
-- request id; ingest copies it onto the `request completed` row (gotrue.carry_sibling_errors).
sb_auth_siblings AS (
    SELECT raw_request_id AS sibling_request, argMin(raw_error, row_ts) AS sibling_error
    FROM sb_auth_raw
    WHERE sb_int(raw_status) IS NULL AND (raw_msg IS NULL OR raw_msg != 'request completed')
      AND raw_error IS NOT NULL AND raw_request_id IS NOT NULL
    GROUP BY raw_request_id
),
auth_logs AS (
    SELECT row_id AS id, row_ts AS ts,
           CAST(raw_msg AS Nullable(String)) AS msg,
           CAST(raw_method AS Nullable(String)) AS method,
           CAST(sb_auth_path(raw_path) AS Nullable(String)) AS path,
           CAST(sb_int(raw_status) AS Nullable(Int32)) AS status,
           CAST(sb_double(raw_duration) / 1e6 AS Nullable(Float64)) AS duration_ms,
           CAST(raw_error_code AS Nullable(String)) AS error_code,
           CAST(if(raw_error IS NULL AND raw_msg = 'request completed' AND sb_int(raw_status) >= 400,
                   s.sibling_error, raw_error) AS Nullable(String)) AS error,
           CAST(raw_request_id AS Nullable(String)) AS request_id,
           CAST(raw_grant_type AS Nullable(String)) AS grant_type,
           CAST(raw_user AS Nullable(String)) AS user_id,
           CAST(raw_remote_addr AS Nullable(String)) AS remote_addr
    FROM sb_auth_raw AS r
    LEFT JOIN sb_auth_siblings AS s ON s.sibling_request = r.raw_request_id
    WHERE NOT sb_not_number(raw_status)
),
realtime_logs AS (
    SELECT id, timestamp AS ts FROM logs
    WHERE source = 'realtime_logs'
      AND timestamp >= {since:DateTime64(6, 'UTC')} AND timestamp < {until:DateTime64(6, 'UTC')}
),
function_edge_logs AS (
    SELECT id, timestamp AS ts FROM logs
    WHERE source = 'function_edge_logs'
      AND timestamp >= {since:DateTime64(6, 'UTC')} AND timestamp < {until:DateTime64(6, 'UTC')}
),
supavisor_logs AS (
    SELECT id, timestamp AS ts FROM logs
    WHERE source = 'supavisor_logs'
      AND timestamp >= {since:DateTime64(6, 'UTC')} AND timestamp < {until:DateTime64(6, 'UTC')}
),
-- Vercel and pg_cron rows never reach Supabase's log store.
vercel_logs AS (
    SELECT id, timestamp AS ts, CAST(NULL AS Nullable(String)) AS path,
           CAST(NULL AS Nullable(Int32)) AS status, CAST(NULL AS Nullable(String)) AS type
    FROM logs WHERE 0
),
cron_runs AS (
    SELECT id, timestamp AS ts FROM logs WHERE 0
)
