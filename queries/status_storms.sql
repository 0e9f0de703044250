-- name: status_storms
-- title: HTTP status storms
-- finds: 4xx/5xx responses per source (edge = API gateway, vercel = app routes), status
--   class (400, 401/403, 409, 429, 5xx, 4xx other) and path, with the same storm and
--   episode rules as conflict_storms.
-- rank: 30
-- headline: HTTP {status_class} on {path} ({source})
-- param min_count: integer = 10 -- fewest responses in a window for a storm
-- param multiple: double = 3.0 -- a storm starts at a window with at least this multiple of the baseline median
-- param baseline_windows: integer = 10 -- windows before a window that form its baseline
-- param episodes: boolean = true -- merge consecutive storm windows into one row (false: a row per window)
-- subject: source, status_class, path
-- metric count: count [responses] -- error responses
-- metric peak_count: peak [responses] -- responses in the busiest window
-- metric windows: count [windows] -- storm windows
-- metric baseline_median: level [responses] -- baseline median per window
-- needs: edge_logs | vercel_logs
-- example edge_logs: status >= 400
-- example vercel_logs: status >= 400
-- series: episodes=false
-- details: window_end, peak_window
-- events: count
SELECT window_start, k1 AS source, k2 AS status_class, k3 AS path,
       count, peak_count, windows, baseline_median, window_end, peak_window
FROM det_storms('status', $since, $until, $window, $origin, $min_count, $multiple,
               $baseline_windows, INTERVAL 0 SECOND, $episodes)
ORDER BY window_start, source, status_class, path
