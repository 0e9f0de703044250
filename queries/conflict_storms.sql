-- name: conflict_storms
-- title: Conflict storms (409 / 23505)
-- finds: duplicate-key conflicts (HTTP 409, SQLSTATE 23505/23P01) per table (with the
--   constraint most of them name);
--   a storm starts at a window whose count reaches min_count and `multiple` times the
--   median of the baseline_windows before it, and lasts while the count stays at or above
--   min_count (a sustained storm is not ended by the baseline it raises); each storm is
--   one episode (start, end, peak). Each conflict is counted once across postgres_logs, postgrest_logs and
--   edge_logs. With min_count=1 and multiple=0 every window with a conflict is kept, so
--   the episodes add up to all conflicts.
-- rank: 20
-- headline: duplicate keys on {table_name} ({constraint_name})
-- param min_count: integer = 10 -- fewest conflicts in a window for a storm
-- param multiple: double = 3.0 -- a storm starts at a window with at least this multiple of the baseline median
-- param baseline_windows: integer = 10 -- windows before a window that form its baseline
-- param episodes: boolean = true -- merge consecutive storm windows into one row (false: a row per window)
-- param match_tolerance: interval = 1s -- how far apart two sources' rows of one event may be
-- subject: table_name, constraint_name
-- metric count: count [conflicts] -- conflicts
-- metric peak_count: peak [conflicts] -- conflicts in the busiest window
-- metric windows: count [windows] -- storm windows
-- metric baseline_median: level [conflicts] -- baseline median per window
-- needs: postgres_logs | postgrest_logs | edge_logs
-- example postgres_logs: sqlstate IN ('23505', '23P01')
-- example edge_logs: status = 409
-- series: episodes=false
-- details: window_end, peak_window
-- events: count
SELECT window_start, k1 AS table_name, label AS constraint_name,
       count, peak_count, windows, baseline_median, window_end, peak_window
FROM det_storms('conflict', $since, $until, $window, $origin, $min_count, $multiple,
               $baseline_windows, $match_tolerance, $episodes)
ORDER BY window_start, table_name, constraint_name
