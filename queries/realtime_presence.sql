-- name: realtime_presence
-- title: Realtime presence and connections
-- finds: Realtime presence events (sum of the presence_events Billing metric), connected
--   clients (max/min of the connections metric), joins, channel events and Realtime
--   errors per window and project, and presence spikes: windows whose presence events
--   reach min_count and `multiple` times the median of the baseline_windows before them
--   (spike = 1).
-- rank: 80
-- param min_count: integer = 100 -- fewest presence events in a spike window
-- param multiple: double = 3.0 -- a spike has at least this multiple of the baseline median
-- param baseline_windows: integer = 10 -- windows before a window that form its baseline
-- subject: project
-- metric presence_events: count [events] -- presence events
-- metric connected_max: peak [clients] -- connected clients (max)
-- metric connected_min: min [clients] -- connected clients (min)
-- metric joins: count [joins] -- channel joins
-- metric events: count [events] -- channel events
-- metric errors: count [errors] -- Realtime errors
-- metric spike: flag -- presence spike
-- needs: realtime_logs
-- events: presence_events
WITH per_window AS (
    SELECT time_bucket($window, ts, $origin) AS window_start,
           coalesce(project, external_id) AS project,
           coalesce(sum(sum_value) FILTER (WHERE metric = 'presence_events'), 0)::BIGINT
               AS presence_events,
           max(connected) FILTER (WHERE metric = 'connections') AS connected_max,
           min(connected) FILTER (WHERE metric = 'connections') AS connected_min,
           coalesce(sum(sum_value) FILTER (WHERE metric = 'joins'), 0)::BIGINT AS joins,
           coalesce(sum(sum_value) FILTER (WHERE metric IN ('events', 'db_events')), 0)::BIGINT
               AS events,
           count(*) FILTER (WHERE det_is_realtime_error(level, error_code)) AS errors
    FROM realtime_logs
    WHERE ts >= $since AND ts < $until
    GROUP BY ALL
)
SELECT window_start, project, presence_events, connected_max, connected_min, joins, events,
       errors,
       (presence_events >= $min_count
        AND presence_events >= $multiple * coalesce(median(presence_events) OVER (
                PARTITION BY project ORDER BY window_start
                ROWS BETWEEN $baseline_windows PRECEDING AND 1 PRECEDING), 0))::INTEGER
           AS spike
FROM per_window
ORDER BY window_start, project
