-- Realtime presence events (left axis) and the peak of connected clients (right axis)
-- per window, from Realtime's billing-metrics lines.
SELECT time_bucket($window, ts) AS window_start, 'presence events' AS series, 'y' AS axis,
       sum(sum_value)::DOUBLE AS value
FROM realtime_logs
WHERE ts >= $since AND ts < $until AND metric = 'presence_events'
GROUP BY ALL
UNION ALL
SELECT time_bucket($window, ts) AS window_start, 'connected clients' AS series, 'y2' AS axis,
       max(connected)::DOUBLE AS value
FROM realtime_logs
WHERE ts >= $since AND ts < $until AND metric = 'connections'
GROUP BY ALL
ORDER BY window_start, series
