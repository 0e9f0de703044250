-- ClickHouse body of queries/realtime_presence.sql (same header, same output). A metric
-- missing from a window is NULL (maxIfOrNull), as DuckDB's max() FILTER of no rows.
WITH
per_window AS (
    SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start,
           coalesce(raw_project, external_id) AS project,
           det_round(coalesce(sumIfOrNull(sum_value, metric = 'presence_events'), 0)) AS presence_events,
           maxIfOrNull(connected, metric = 'connections') AS connected_max,
           minIfOrNull(connected, metric = 'connections') AS connected_min,
           det_round(coalesce(sumIfOrNull(sum_value, metric = 'joins'), 0)) AS joins,
           det_round(coalesce(sumIfOrNull(sum_value, metric IN ('events', 'db_events')), 0)) AS events,
           countIf(lower(coalesce(level, '')) IN ('error', 'critical') OR error_code IS NOT NULL) AS errors
    FROM (SELECT *, project AS raw_project FROM realtime_logs
          WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')})
    GROUP BY window_start, project
)
SELECT window_start, project, presence_events, connected_max, connected_min, joins, events,
       errors,
       toInt32(presence_events >= {min_count:Int64}
               AND presence_events >= {multiple:Float64} * if(count() OVER baseline = 0, 0,
                   quantileExactInclusive(0.5)(presence_events) OVER baseline)) AS spike
FROM per_window
WINDOW baseline AS (PARTITION BY project ORDER BY window_start
                    ROWS BETWEEN {baseline_windows:Int64} PRECEDING AND 1 PRECEDING)
ORDER BY window_start, project
