-- Shared building blocks of the detectors: temporary macros created on the connection
-- before a detector runs (this file is not a detector; its name starts with `_`).
-- Every table macro takes the analysed range [since, until) as arguments so that the
-- detectors pass their bound $since/$until through; windowed ones also take the bucket
-- width and origin ($window, $origin).

-- The table a PostgREST path is about: /rest/v1/registrations?x → registrations,
-- /rest/v1/rpc/fn → fn.
CREATE OR REPLACE TEMP MACRO det_rest_table(path) AS
    nullif(regexp_extract(path, '^/rest/v1/(?:rpc/)?([^/?]+)', 1), '');

-- The relation an SQL error message (or, failing that, its statement) names.
CREATE OR REPLACE TEMP MACRO det_relation(message, statement) AS coalesce(
    nullif(regexp_extract(message, 'column "?([A-Za-z0-9_]+)"?\."?[A-Za-z0-9_]+"? does not exist', 1), ''),
    nullif(regexp_extract(message, 'of relation "(?:[A-Za-z0-9_]+\.)?([A-Za-z0-9_]+)"', 1), ''),
    nullif(regexp_extract(message, 'relation "(?:[A-Za-z0-9_]+\.)?([A-Za-z0-9_]+)" does not exist', 1), ''),
    nullif(regexp_extract(message, 'column of ''(?:[A-Za-z0-9_]+\.)?([A-Za-z0-9_]+)'' in the schema cache', 1), ''),
    nullif(regexp_extract(message, 'table ''(?:[A-Za-z0-9_]+\.)?([A-Za-z0-9_]+)'' in the schema cache', 1), ''),
    nullif(regexp_extract(message, 'Column ''[A-Za-z0-9_]+'' of relation ''([A-Za-z0-9_]+)''', 1), ''),
    nullif(regexp_extract(statement, '(?i)\b(?:into|update|from)\s+(?:"?[A-Za-z0-9_]+"?\.)?"?([A-Za-z0-9_]+)"?', 1), ''),
    nullif(regexp_extract(message, 'unique constraint "([A-Za-z0-9_]+?)_(?:pkey|key|[A-Za-z0-9_]*_key)"', 1), '')
);

-- The column an SQL error message names (42703, including a trigger's `record "new" has
-- no field "x"`, and PGRST204).
CREATE OR REPLACE TEMP MACRO det_column(message) AS coalesce(
    nullif(regexp_extract(message, 'column "?[A-Za-z0-9_]+"?\."?([A-Za-z0-9_]+)"? does not exist', 1), ''),
    nullif(regexp_extract(message, 'column "([A-Za-z0-9_]+)"', 1), ''),
    nullif(regexp_extract(message, 'find the ''([A-Za-z0-9_]+)'' column', 1), ''),
    nullif(regexp_extract(message, 'Column ''([A-Za-z0-9_]+)''', 1), ''),
    nullif(regexp_extract(message, 'has no field "([A-Za-z0-9_]+)"', 1), '')
);

-- The constraint a 23505/23503 message names.
CREATE OR REPLACE TEMP MACRO det_constraint(message) AS
    nullif(regexp_extract(message, 'constraint "([^"]+)"', 1), '');

-- One message shape per error: positions, uuids and numbers carry no meaning for grouping.
CREATE OR REPLACE TEMP MACRO det_normalize_message(message) AS regexp_replace(
    regexp_replace(
        regexp_replace(trim(message), '\s+at character \d+$', ''),
        '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}', '<uuid>', 'g'),
    '\b\d+\b', 'N', 'g');

-- The SQLSTATE an HTTP status stands for when a gateway row carries no error code
-- (PostgREST < 13 sends no Proxy-Status): 409 is almost always a unique violation.
CREATE OR REPLACE TEMP MACRO det_status_sqlstate(status) AS
    CASE WHEN status = 409 THEN '23505' END;

-- How an API gateway call is classified, the one place each rule is written:
-- a database call is any /rest/v1 path; a write is a POST/PATCH/PUT/DELETE on a /rest/v1
-- table (an RPC is a call, not a write); its target is the table, 'rpc/<function>', or
-- the path itself outside the Data API; an /auth/v1/user call is a GET of that path.
CREATE OR REPLACE TEMP MACRO det_is_db_call(path) AS path LIKE '/rest/v1/%';
CREATE OR REPLACE TEMP MACRO det_is_write(method, path) AS
    path LIKE '/rest/v1/%' AND path NOT LIKE '/rest/v1/rpc/%'
    AND upper(method) IN ('POST', 'PATCH', 'PUT', 'DELETE');
CREATE OR REPLACE TEMP MACRO det_target(path) AS
    CASE WHEN path LIKE '/rest/v1/rpc/%' THEN 'rpc/' || det_rest_table(path)
         WHEN path LIKE '/rest/v1/%' THEN det_rest_table(path)
         ELSE path END;
CREATE OR REPLACE TEMP MACRO det_is_auth_user_call(method, path) AS
    path = '/auth/v1/user' AND upper(coalesce(method, 'GET')) = 'GET';

-- The user an app route's request served: the `user=<uuid>` of one of its console lines.
CREATE OR REPLACE TEMP MACRO det_request_user(message) AS
    nullif(regexp_extract(message, 'user=([0-9A-Za-z-]+)', 1), '');

-- A Realtime log row that reports an error.
CREATE OR REPLACE TEMP MACRO det_is_realtime_error(level, error_code) AS
    lower(coalesce(level, '')) IN ('error', 'critical') OR error_code IS NOT NULL;

-- Who made a call: 'server' (supabase-js inside Node, e.g. a serverless handler),
-- 'browser' (supabase-js-web, supabase-ssr createBrowserClient, or a browser user agent),
-- else 'other'.
CREATE OR REPLACE TEMP MACRO det_caller(client_info, user_agent) AS CASE
    WHEN client_info ILIKE 'supabase-js-node/%' OR client_info ILIKE '%createServerClient%'
        THEN 'server'
    WHEN client_info ILIKE 'supabase-js-web/%' OR client_info ILIKE '%createBrowserClient%'
        OR user_agent ILIKE 'Mozilla/%'
        THEN 'browser'
    WHEN user_agent ILIKE 'node%' OR user_agent ILIKE 'undici%' THEN 'server'
    ELSE 'other'
END;

-- Edge (API gateway) requests in the range. Ingest already keeps one row per log id, so
-- overlapping exports of the same gateway log do not double; a hosted gateway and a
-- self-hosted Kong never see the same request, so no further merging is done here (it
-- would cost a sort of the largest table in every detector).
CREATE OR REPLACE TEMP MACRO det_edge(since, until) AS TABLE
    SELECT * FROM edge_logs WHERE ts >= since AND ts < until;

-- Database errors in the range from every source, each event once.
-- Postgres rows are the primary record; a PostgREST log row is the same event when
-- Postgres has an error with the same SQLSTATE and relation within `tolerance` of it; an
-- edge row is the same event when one of those has the same SQLSTATE and relation between
-- `tolerance` before the request and `tolerance` after the request plus its latency.
-- Columns: ts, source_table, sqlstate, relation, column_name, constraint_name, message,
-- status, path, user_id.
CREATE OR REPLACE TEMP MACRO det_db_errors(since, until, tolerance) AS TABLE
WITH pg AS (
    SELECT ts, 'postgres_logs' AS source_table, sqlstate,
           det_relation(message, statement) AS relation, det_column(message) AS column_name,
           det_constraint(message) AS constraint_name,
           det_normalize_message(message) AS message,
           NULL::INTEGER AS status, NULL::VARCHAR AS path, NULL::VARCHAR AS user_id
    FROM postgres_logs
    WHERE ts >= since AND ts < until
      AND sqlstate IS NOT NULL AND sqlstate NOT LIKE '00%' AND sqlstate NOT LIKE '01%'
      AND upper(coalesce(severity, 'ERROR')) IN ('ERROR', 'FATAL', 'PANIC')
),
rest AS (
    SELECT ts, 'postgrest_logs' AS source_table,
           coalesce(sqlstate, det_status_sqlstate(status)) AS sqlstate,
           coalesce(det_relation(message, NULL), det_rest_table(path)) AS relation,
           det_column(message) AS column_name, det_constraint(message) AS constraint_name,
           det_normalize_message(message) AS message, status, path, NULL::VARCHAR AS user_id
    FROM postgrest_logs
    WHERE ts >= since AND ts < until
      AND coalesce(sqlstate, det_status_sqlstate(status)) IS NOT NULL
),
rest_only AS (
    SELECT r.*
    FROM rest AS r
    ASOF LEFT JOIN pg AS p
      ON r.sqlstate = p.sqlstate AND coalesce(r.relation, '') = coalesce(p.relation, '')
     AND r.ts + tolerance >= p.ts
    WHERE p.ts IS NULL OR p.ts < r.ts - tolerance
),
primary_events AS (
    SELECT * FROM pg UNION ALL SELECT * FROM rest_only
),
edge AS (
    SELECT ts, 'edge_logs' AS source_table,
           coalesce(error_code, det_status_sqlstate(status)) AS sqlstate,
           det_rest_table(path) AS relation, NULL::VARCHAR AS column_name,
           NULL::VARCHAR AS constraint_name, NULL::VARCHAR AS message, status, path, user_id,
           ts + to_milliseconds(coalesce(latency_ms, 0)::BIGINT) + tolerance AS match_until
    FROM det_edge(since, until)
    WHERE coalesce(error_code, det_status_sqlstate(status)) IS NOT NULL
      AND (path LIKE '/rest/v1/%' OR error_code IS NOT NULL)
      -- GoTrue's error codes (refresh_token_already_used, ...) ride the same header
      AND regexp_full_match(coalesce(error_code, det_status_sqlstate(status)), '[0-9A-Z]{5}|PGRST[0-9]{3}')
),
edge_only AS (
    SELECT e.* EXCLUDE (match_until)
    FROM edge AS e
    ASOF LEFT JOIN primary_events AS p
      ON e.sqlstate = p.sqlstate AND coalesce(e.relation, '') = coalesce(p.relation, '')
     AND e.match_until >= p.ts
    WHERE p.ts IS NULL OR p.ts < e.ts - tolerance
)
SELECT * FROM primary_events
UNION ALL
SELECT * FROM edge_only;

-- HTTP requests in the range with their status, from the API gateway (edge_logs, one row
-- per request) and the app's own routes (vercel_logs request rows; console lines carry no
-- status). Columns: ts, source, method, path, status, latency_ms, user_id, client_key.
CREATE OR REPLACE TEMP MACRO det_http(since, until) AS TABLE
    SELECT ts, 'edge' AS source, method, path, status, latency_ms, user_id,
           coalesce(user_id, session_id, ip) AS client_key
    FROM det_edge(since, until)
    WHERE status IS NOT NULL
    UNION ALL
    SELECT ts, 'vercel' AS source, method, path, status, duration_ms AS latency_ms,
           NULL::VARCHAR AS user_id, NULL::VARCHAR AS client_key
    FROM vercel_logs
    WHERE ts >= since AND ts < until AND status IS NOT NULL
      AND coalesce(type, '') NOT IN ('stdout', 'stderr');

-- quantile_cont(q) of a distribution given as its sorted non-zero values plus a number of
-- zeros (linear interpolation between order statistics, as quantile_cont does).
CREATE OR REPLACE TEMP MACRO det_value_at(sorted, zeros, i) AS
    CASE WHEN i < zeros THEN 0 ELSE sorted[i - zeros + 1] END;
CREATE OR REPLACE TEMP MACRO det_padded_at(sorted, zeros, h) AS
    det_value_at(sorted, zeros, floor(h)::BIGINT)::DOUBLE
    + (h - floor(h)) * (det_value_at(sorted, zeros, ceil(h)::BIGINT)
                        - det_value_at(sorted, zeros, floor(h)::BIGINT));
CREATE OR REPLACE TEMP MACRO det_padded_quantile(sorted, zeros, q) AS
    det_padded_at(sorted, zeros, (len(sorted) + zeros - 1) * q::DOUBLE);

-- The status class a storm is about.
CREATE OR REPLACE TEMP MACRO det_status_class(status) AS CASE
    WHEN status = 400 THEN '400'
    WHEN status IN (401, 403) THEN '401/403'
    WHEN status = 409 THEN '409'
    WHEN status = 429 THEN '429'
    WHEN status BETWEEN 500 AND 599 THEN '5xx'
    WHEN status BETWEEN 400 AND 499 THEN '4xx other'
END;

-- Storm episodes. Events are counted per key and window; every window from a key's first
-- to its last event is scored (quiet windows count as 0). A window is a storm when its
-- count reaches `min_count` and `multiple` times the median count of the `baseline`
-- windows before it (missing history counts as 0). Consecutive storm windows form one
-- episode: start, end (exclusive), total, peak window and its count, and the median of the
-- windows before the episode. With `merge` false every storm window is its own row.
-- `kind` picks the events: 'conflict' = 409 / 23505 / 23P01 by table, labelled with the
-- constraint most of them name (det_db_errors, each event once; gateway rows name none);
-- 'status' = HTTP 4xx/5xx by source, status class and path.
CREATE OR REPLACE TEMP MACRO det_storms(kind, since, until, width, origin, min_count,
                                        multiple, baseline, tolerance, merge) AS TABLE
WITH events AS (
    SELECT ts, coalesce(relation, '?') AS k1, '' AS k2, '' AS k3, constraint_name AS label
    FROM det_db_errors(since, until, tolerance)
    WHERE kind = 'conflict' AND (sqlstate IN ('23505', '23P01') OR status = 409)
    UNION ALL
    SELECT ts, source AS k1, det_status_class(status) AS k2, path AS k3,
           NULL::VARCHAR AS label
    FROM det_http(since, until)
    WHERE kind = 'status' AND status >= 400
),
counts AS (
    SELECT k1, k2, k3, time_bucket(width, ts, origin) AS w, count(*) AS n,
           mode(label) AS label
    FROM events
    GROUP BY k1, k2, k3, w
),
spans AS (
    SELECT k1, k2, k3, min(w) AS first_w, max(w) AS last_w FROM counts GROUP BY ALL
),
dense AS (
    SELECT s.k1, s.k2, s.k3, g.w, coalesce(c.n, 0) AS n, c.label
    FROM spans AS s
    CROSS JOIN LATERAL (SELECT unnest(generate_series(s.first_w, s.last_w, width)) AS w) AS g
    LEFT JOIN counts AS c ON c.k1 = s.k1 AND c.k2 = s.k2 AND c.k3 = s.k3 AND c.w = g.w
),
scored AS (
    SELECT *,
           coalesce(median(n) OVER (PARTITION BY k1, k2, k3 ORDER BY w
                                    ROWS BETWEEN baseline PRECEDING AND 1 PRECEDING), 0)
               AS baseline_median
    FROM dense
),
-- Runs of consecutive windows at or above min_count.
hot AS (
    SELECT *, n >= multiple * baseline_median AS triggers,
           w - width * row_number() OVER (PARTITION BY k1, k2, k3 ORDER BY w) AS run
    FROM scored
    WHERE n >= min_count
),
-- A storm starts at a window that jumps to `multiple` times its baseline and lasts while
-- the count stays at or above min_count: a sustained storm raises its own baseline, and
-- must not stop being one for that.
storm_windows AS (
    SELECT *, CASE WHEN merge THEN run ELSE w END AS episode
    FROM hot
    QUALIFY w >= min(CASE WHEN triggers THEN w END) OVER (PARTITION BY k1, k2, k3, run)
),
SELECT min(w) AS window_start, k1, k2, k3, mode(label) AS label,
       sum(n)::BIGINT AS count, max(n) AS peak_count, count(*) AS windows,
       arg_min(baseline_median, w) AS baseline_median,
       max(w) + width AS window_end, arg_max(w, n) AS peak_window
FROM storm_windows
GROUP BY k1, k2, k3, episode;

-- A Cloudflare ray id without its `-COLO` suffix (`8f1c2a3b4d5e6f70-ICN` → `8f1c2a3b4d5e6f70`):
-- GoTrue's request id on hosted projects is the ray with or without it. Only a final
-- three-letter segment is cut, so ids of other shapes (uuids) stay whole and unique.
CREATE OR REPLACE TEMP MACRO det_ray(id) AS nullif(regexp_replace(id, '-[A-Za-z]{3}$', ''), '');

-- Calls to one Auth (GoTrue) endpoint, each once, from edge_logs (caller kind from
-- x-client-info / user agent, gateway latency) and auth_logs (GoTrue's own duration).
-- An edge row spans [ts, ts + latency], an auth row [ts - duration, ts] (GoTrue logs the
-- completion). A row is "seen by the other log" when that log has a row with the same
-- request id (request_id, or cf_ray without its `-COLO` suffix), or a row of the same
-- caller whose span overlaps its own within `tolerance`. The caller is the auth row's
-- user when it names one, else its client address (GoTrue logs remote_addr; self-hosted
-- Kong lines carry no JWT subject); an edge row answers to both its JWT subject and its
-- client address.
-- `prefer` = 'edge' keeps every edge row plus the auth rows no edge row saw; 'auth' keeps
-- every auth row plus the edge rows no auth row saw. A kept row takes its caller kind, or a
-- missing user or error code, from the row with its request id ('unknown' caller without).
-- Callers are matched by a 64-bit hash of their key: sorting and partitioning on it costs
-- a fraction of doing so on the uuid text (two callers would merge only on a collision).
-- Columns: ts, source_table, method, user_id, client_key, caller, status, latency_ms,
-- error_code, grant_type.
CREATE OR REPLACE TEMP MACRO det_auth_calls(since, until, auth_path, tolerance, prefer) AS TABLE
WITH edge_rows AS (
    SELECT id, ts, method, user_id, ip, session_id,
           det_caller(client_info, user_agent) AS caller, status, latency_ms, error_code,
           nullif(regexp_extract(query, 'grant_type=([A-Za-z_]+)', 1), '') AS grant_type,
           request_id, det_ray(cf_ray) AS ray,
           ts + to_milliseconds(coalesce(latency_ms, 0)::BIGINT) AS ends
    FROM det_edge(since, until)
    WHERE path = auth_path
),
edge_keyed AS (
    SELECT id, ts, ends, hash('u:' || user_id) AS match_key
    FROM edge_rows WHERE user_id IS NOT NULL
    UNION ALL
    SELECT id, ts, ends, hash('a:' || ip) AS match_key FROM edge_rows WHERE ip IS NOT NULL
),
-- reach = the latest end among the caller's rows started so far: a later-starting row
-- may end before an earlier, longer one.
edge_spans AS (
    SELECT *, max(ends) OVER (PARTITION BY match_key ORDER BY ts
                              ROWS UNBOUNDED PRECEDING) AS reach
    FROM edge_keyed
),
auth_rows AS (
    SELECT id, ts, method, user_id, remote_addr, status, duration_ms AS latency_ms,
           coalesce(error_code,
                    CASE WHEN error ILIKE '%Already Used%'
                              OR error ILIKE 'Possible abuse attempt%'
                              OR error ILIKE '%refresh token reuse%'
                         THEN 'refresh_token_already_used' END) AS error_code,
           grant_type, request_id, det_ray(request_id) AS ray,
           ts - to_milliseconds(coalesce(duration_ms, 0)::BIGINT) AS starts,
           hash(coalesce('u:' || user_id, 'a:' || remote_addr, '')) AS match_key
    FROM auth_logs
    WHERE ts >= since AND ts < until AND path = auth_path AND status IS NOT NULL
),
auth_spans AS (
    SELECT id, ts, starts, match_key,
           max(ts) OVER (PARTITION BY match_key ORDER BY starts
                         ROWS UNBOUNDED PRECEDING) AS reach
    FROM auth_rows
),
id_pairs AS (
    SELECT a.id AS a_id, e.id AS e_id FROM auth_rows AS a JOIN edge_rows AS e
        ON a.request_id = e.request_id
    UNION
    SELECT a.id, e.id FROM auth_rows AS a JOIN edge_rows AS e ON a.ray = e.ray
),
auth_seen AS (
    SELECT a_id FROM id_pairs
    UNION
    SELECT a.id
    FROM auth_spans AS a
    ASOF JOIN edge_spans AS e ON a.match_key = e.match_key AND a.ts + tolerance >= e.ts
    WHERE e.reach + tolerance >= a.starts
),
edge_seen AS (
    SELECT e_id FROM id_pairs
    UNION
    SELECT e.id
    FROM edge_spans AS e
    ASOF JOIN auth_spans AS a ON e.match_key = a.match_key AND e.ends + tolerance >= a.starts
    WHERE a.reach + tolerance >= e.ts
),
-- Missing fields are taken only from a partner with the same request id: a partner found
-- by time may be a concurrent call of the same client.
auth_partner AS (
    SELECT a_id, any_value(e_id) AS e_id FROM id_pairs GROUP BY a_id
),
edge_partner AS (
    SELECT e_id, any_value(a_id) AS a_id FROM id_pairs GROUP BY e_id
),
edge_side AS (
    SELECT e.ts, 'edge_logs' AS source_table, e.method,
           coalesce(e.user_id, a.user_id) AS user_id,
           coalesce(e.user_id, a.user_id, e.session_id, e.ip) AS client_key, e.caller,
           e.status, e.latency_ms, coalesce(e.error_code, a.error_code) AS error_code,
           coalesce(e.grant_type, a.grant_type) AS grant_type,
           e.id IN (SELECT e_id FROM edge_seen) AS seen
    FROM edge_rows AS e
    LEFT JOIN edge_partner AS p ON p.e_id = e.id
    LEFT JOIN auth_rows AS a ON a.id = p.a_id
),
auth_side AS (
    SELECT a.ts, 'auth_logs' AS source_table, a.method,
           coalesce(a.user_id, e.user_id) AS user_id,
           coalesce(a.user_id, e.user_id, a.remote_addr, e.ip) AS client_key,
           coalesce(e.caller, 'unknown') AS caller, a.status, a.latency_ms,
           coalesce(a.error_code, e.error_code) AS error_code,
           coalesce(a.grant_type, e.grant_type) AS grant_type,
           a.id IN (SELECT a_id FROM auth_seen) AS seen
    FROM auth_rows AS a
    LEFT JOIN auth_partner AS p ON p.a_id = a.id
    LEFT JOIN edge_rows AS e ON e.id = p.e_id
)
SELECT * EXCLUDE (seen) FROM edge_side WHERE prefer = 'edge' OR NOT seen
UNION ALL
SELECT * EXCLUDE (seen) FROM auth_side WHERE prefer = 'auth' OR NOT seen;

-- Supabase calls attributed to the app route (Vercel function invocation) that made them.
-- An invocation is a vercel_logs request row (request_id, path = route, ts = start,
-- duration_ms); its user is the `user=<uuid>` in any line of the same request_id. A
-- server-side call (edge row whose caller is 'server') belongs to the latest invocation of
-- the same user that started at or before it, if the call is not later than that
-- invocation's end. Without vercel_logs in the range, a user's server-side calls separated
-- by no more than `burst_gap` form one burst, standing in for one request, named after
-- what it does: `burst:<tables it writes, joined by +>`, else `burst:read <first table>`,
-- else `burst:<first path>`.
-- One row per (invocation, call); an invocation without calls has one row with null call
-- columns. Columns: attribution, invocation, route, user_id, start_ts, call_id (the edge
-- row's id), call_ts, method, path, target, is_db, is_write, is_auth_user.
CREATE OR REPLACE TEMP MACRO det_route_calls(since, until, burst_gap) AS TABLE
WITH vercel AS (
    SELECT ts, request_id, path, duration_ms, type, message, status
    FROM vercel_logs
    WHERE ts >= since AND ts < until AND request_id IS NOT NULL
),
invocations AS (
    SELECT request_id AS invocation,
           min(ts) FILTER (WHERE coalesce(type, '') NOT IN ('stdout', 'stderr')
                                 AND path IS NOT NULL) AS start_ts,
           arg_min(path, ts) FILTER (WHERE coalesce(type, '') NOT IN ('stdout', 'stderr')
                                          AND path IS NOT NULL) AS route,
           max(duration_ms) AS duration_ms,
           max(det_request_user(message)) AS user_id
    FROM vercel
    GROUP BY request_id
    HAVING start_ts IS NOT NULL
),
calls AS (
    SELECT id AS call_id, ts AS call_ts, user_id, method, path,
           det_target(path) AS target,
           det_is_db_call(path) AS is_db,
           det_is_write(method, path) AS is_write,
           det_is_auth_user_call(method, path) AS is_auth_user
    FROM det_edge(since, until)
    WHERE det_caller(client_info, user_agent) = 'server' AND user_id IS NOT NULL
),
have_vercel AS (SELECT count(*) > 0 AS yes FROM invocations),
-- The join partitions on a hash of the user id (sorting 36-character strings cost more
-- than the join itself); the user ids are compared too, so a hash collision drops the
-- pair instead of crossing two users.
attributed AS (
    SELECT 'vercel' AS attribution, i.invocation, i.route, i.user_id, i.start_ts,
           c.call_id, c.call_ts, c.method, c.path, c.target, c.is_db, c.is_write,
           c.is_auth_user
    FROM (SELECT *, hash(user_id) AS user_key FROM calls) AS c
    ASOF JOIN (SELECT invocation, route, user_id, hash(user_id) AS user_key, start_ts,
                      start_ts + to_milliseconds(coalesce(duration_ms, 0)::BIGINT) AS end_ts
               FROM invocations WHERE user_id IS NOT NULL) AS i
      ON c.user_key = i.user_key AND c.call_ts >= i.start_ts
    WHERE c.user_id = i.user_id AND c.call_ts <= i.end_ts
),
-- Every invocation: its calls, or one row with null call columns when it made none.
from_vercel AS (
    SELECT * FROM attributed
    UNION ALL
    SELECT 'vercel' AS attribution, i.invocation, i.route, i.user_id, i.start_ts,
           NULL::VARCHAR AS call_id, NULL::TIMESTAMPTZ AS call_ts, NULL::VARCHAR AS method,
           NULL::VARCHAR AS path, NULL::VARCHAR AS target, NULL::BOOLEAN AS is_db,
           NULL::BOOLEAN AS is_write, NULL::BOOLEAN AS is_auth_user
    FROM invocations AS i
    ANTI JOIN (SELECT DISTINCT invocation FROM attributed) AS a ON a.invocation = i.invocation
),
burst_marks AS (
    SELECT *,
           CASE WHEN call_ts - lag(call_ts) OVER (PARTITION BY user_id ORDER BY call_ts)
                     <= burst_gap THEN 0 ELSE 1 END AS starts_burst
    FROM calls
    WHERE NOT (SELECT yes FROM have_vercel)
),
bursts AS (
    SELECT *,
           sum(starts_burst) OVER (PARTITION BY user_id ORDER BY call_ts
                                   ROWS UNBOUNDED PRECEDING) AS burst_no
    FROM burst_marks
),
burst_names AS (
    SELECT user_id, burst_no,
           'burst:' || coalesce(
               nullif(array_to_string(list_sort(list_distinct(
                   list(target) FILTER (WHERE is_write))), '+'), ''),
               'read ' || arg_min(target, call_ts) FILTER (WHERE is_db),
               arg_min(path, call_ts)) AS route,
           min(call_ts) AS start_ts
    FROM bursts
    GROUP BY user_id, burst_no
),
from_bursts AS (
    SELECT 'burst' AS attribution, b.user_id || '#' || b.burst_no AS invocation,
           n.route, b.user_id, n.start_ts,
           b.call_id, b.call_ts, b.method, b.path, b.target, b.is_db, b.is_write, b.is_auth_user
    FROM bursts AS b
    JOIN burst_names AS n USING (user_id, burst_no)
)
SELECT * FROM from_vercel
UNION ALL
SELECT * FROM from_bursts;

-- Realtime outage windows: windows in which Realtime logged an error, or its connection
-- metric reported nobody connected after some window of the range had connections.
-- Columns: w (window start).
CREATE OR REPLACE TEMP MACRO det_realtime_outages(since, until, width, origin) AS TABLE
WITH per_window AS (
    SELECT time_bucket(width, ts, origin) AS w,
           max(connected) FILTER (WHERE metric = 'connections') AS connected_max,
           count(*) FILTER (WHERE det_is_realtime_error(level, error_code)) AS errors
    FROM realtime_logs
    WHERE ts >= since AND ts < until
    GROUP BY ALL
)
SELECT w
FROM (SELECT *, max(connected_max) OVER (ORDER BY w ROWS UNBOUNDED PRECEDING) AS seen
      FROM per_window)
WHERE errors > 0 OR (connected_max = 0 AND seen > 0);

-- Participant-minutes in the range: for every user (JWT subject) seen at the API gateway,
-- the minutes from their first call to the end of the range (people join late; nobody is
-- seen leaving). Columns: participants, minutes (NULL when no call names its user, e.g.
-- Kong access lines: per-participant rates are then unknown, not huge).
CREATE OR REPLACE TEMP MACRO det_participant_minutes(since, until) AS TABLE
    SELECT count(*) AS participants,
           nullif(coalesce(sum(epoch(until - first_ts)) / 60.0, 0), 0) AS minutes
    FROM (SELECT user_id, min(ts) AS first_ts
          FROM det_edge(since, until)
          WHERE user_id IS NOT NULL
          GROUP BY user_id);
