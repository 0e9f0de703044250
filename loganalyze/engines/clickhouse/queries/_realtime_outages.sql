-- Shared part (not a detector): det_realtime_outages of queries/_macros.sql as CTEs ending
-- in `realtime_outages` (column w): windows in which Realtime logged an error, or its
-- connection metric reported nobody connected after some window had connections.
outage_windows AS (
    SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS w,
           maxIfOrNull(connected, metric = 'connections') AS connected_max,
           countIf(det_is_realtime_error(level, error_code)) AS errors
    FROM realtime_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
    GROUP BY w
),
realtime_outages AS (
    SELECT w
    FROM (SELECT *, max(connected_max) OVER (ORDER BY w ROWS UNBOUNDED PRECEDING) AS seen
          FROM outage_windows)
    WHERE errors > 0 OR (connected_max = 0 AND seen > 0)
)
