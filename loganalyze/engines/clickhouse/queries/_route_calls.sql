-- Shared part (not a detector): det_route_calls and det_participant_minutes of
-- queries/_macros.sql as CTEs ending in `route_calls` (one row per invocation and call; an
-- invocation without calls has one row with null call columns) and `participant_minutes`
-- (participants, minutes). The ASOF join matches on the user id itself. The minutes are a
-- sum of doubles, one per participant, which DuckDB adds in the order its hash table gives
-- them: the two engines may differ in the last bits (docs/scale-out.md).
vercel AS (
    SELECT ts, request_id, path, duration_ms, type, message
    FROM vercel_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND request_id IS NOT NULL
),
invocations AS (
    SELECT request_id AS invocation,
           minIf(ts, coalesce(type, '') NOT IN ('stdout', 'stderr') AND path IS NOT NULL)
               AS first_request_ts,
           argMinIf(path, ts, coalesce(type, '') NOT IN ('stdout', 'stderr') AND path IS NOT NULL)
               AS route,
           max(duration_ms) AS duration_ms,
           max(det_request_user(message)) AS user_id,
           countIf(coalesce(type, '') NOT IN ('stdout', 'stderr') AND path IS NOT NULL)
               AS request_rows
    FROM vercel
    GROUP BY request_id
    HAVING request_rows > 0
),
calls AS (
    SELECT id AS call_id, ts AS call_ts, assumeNotNull(user_id) AS user_id, method, path,
           det_target(path) AS target,
           det_is_db_call(path) AS is_db,
           det_is_write(method, path) AS is_write,
           det_is_auth_user_call(method, path) AS is_auth_user
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND det_caller(client_info, user_agent) = 'server' AND user_id IS NOT NULL
),
attributed AS (
    SELECT 'vercel' AS attribution, i.invocation AS invocation, i.route AS route,
           i.i_user_id AS user_id, i.start_ts AS start_ts,
           c.call_id AS call_id, c.call_ts AS call_ts, c.method AS method, c.path AS path,
           c.target AS target, c.is_db AS is_db, c.is_write AS is_write,
           c.is_auth_user AS is_auth_user
    FROM calls AS c
    ASOF INNER JOIN (SELECT invocation, route, assumeNotNull(user_id) AS i_user_id,
                            first_request_ts AS start_ts,
                            det_plus_ms(first_request_ts, duration_ms) AS end_ts
                     FROM invocations WHERE user_id IS NOT NULL) AS i
      ON c.user_id = i.i_user_id AND c.call_ts >= i.start_ts
    WHERE c.call_ts <= i.end_ts
),
-- every invocation: its calls, or one row with null call columns when it made none
from_vercel AS (
    SELECT attribution, invocation, route, toNullable(user_id) AS user_id, start_ts,
           toNullable(call_id) AS call_id, toNullable(call_ts) AS call_ts, method,
           path, target, toNullable(is_db) AS is_db, toNullable(is_write) AS is_write,
           toNullable(is_auth_user) AS is_auth_user
    FROM attributed
    UNION ALL
    SELECT 'vercel' AS attribution, invocation, route, user_id, first_request_ts AS start_ts,
           CAST(NULL AS Nullable(String)) AS call_id,
           CAST(NULL AS Nullable(DateTime64(6, 'UTC'))) AS call_ts,
           CAST(NULL AS Nullable(String)) AS method, CAST(NULL AS Nullable(String)) AS path,
           CAST(NULL AS Nullable(String)) AS target, CAST(NULL AS Nullable(Bool)) AS is_db,
           CAST(NULL AS Nullable(Bool)) AS is_write, CAST(NULL AS Nullable(Bool)) AS is_auth_user
    FROM invocations
    WHERE invocation NOT IN (SELECT invocation FROM attributed)
),
-- without Vercel invocations in the range: a user's server-side calls no more than
-- burst_gap apart form one burst
bursts AS (
    SELECT *,
           sum(starts_burst) OVER (PARTITION BY user_id ORDER BY call_ts
                                   ROWS UNBOUNDED PRECEDING) AS burst_no
    FROM (SELECT *,
                 if(toUnixTimestamp64Micro(call_ts)
                        - toUnixTimestamp64Micro(
                              lagInFrame(toNullable(call_ts)) OVER (
                                  PARTITION BY user_id ORDER BY call_ts
                                  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW))
                        <= {burst_gap:Int64}, 0, 1) AS starts_burst
          FROM calls
          WHERE (SELECT count() FROM invocations) = 0)
),
burst_names AS (
    SELECT user_id AS burst_user, burst_no AS burst_number,
           concat('burst:', coalesce(
               nullIf(arrayStringConcat(arraySort(groupUniqArrayIf(target, is_write)), '+'), ''),
               concat('read ', argMinIf(target, call_ts, is_db)),
               argMin(path, call_ts))) AS burst_route,
           min(call_ts) AS burst_start
    FROM bursts
    GROUP BY user_id, burst_no
),
from_bursts AS (
    SELECT 'burst' AS attribution, concat(b.user_id, '#', toString(b.burst_no)) AS invocation,
           n.burst_route AS route, toNullable(b.user_id) AS user_id, n.burst_start AS start_ts,
           toNullable(b.call_id) AS call_id, toNullable(b.call_ts) AS call_ts,
           b.method AS method, b.path AS path, b.target AS target,
           toNullable(b.is_db) AS is_db, toNullable(b.is_write) AS is_write,
           toNullable(b.is_auth_user) AS is_auth_user
    FROM bursts AS b
    INNER JOIN burst_names AS n ON n.burst_user = b.user_id AND n.burst_number = b.burst_no
),
route_calls AS (
    SELECT * FROM from_vercel
    UNION ALL
    SELECT * FROM from_bursts
),
participant_minutes AS (
    SELECT count() AS participants,
           nullIf(coalesce(sum(det_seconds_between(first_ts, {until:DateTime64(6, 'UTC')})) / 60.0, 0), 0)
               AS minutes
    FROM (SELECT user_id, min(ts) AS first_ts
          FROM edge_logs
          WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
            AND user_id IS NOT NULL
          GROUP BY user_id)
)
