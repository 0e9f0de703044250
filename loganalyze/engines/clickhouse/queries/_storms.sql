-- Shared part (not a detector): det_storms of queries/_macros.sql as CTEs ending in
-- `storms`, over an `events` CTE (ts, k1, k2, k3, label) that the including body defines
-- first. The baseline median is quantileExactInclusive, the interpolating median
-- (DuckDB's median = quantile_cont(0.5)); an empty baseline counts as 0. Ties for the
-- constraint label go to the smallest name (det_mode), for the peak window to the earliest.
counts AS (
    SELECT k1, k2, k3,
           det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS w,
           count() AS n, det_mode(groupArray(label)) AS window_label
    FROM events
    GROUP BY k1, k2, k3, w
),
spans AS (
    SELECT k1, k2, k3, min(w) AS first_w, max(w) AS last_w FROM counts GROUP BY k1, k2, k3
),
-- every window from a key's first to its last event; quiet ones count 0
dense AS (
    SELECT s.k1 AS k1, s.k2 AS k2, s.k3 AS k3, s.g_w AS w, coalesce(c.n, 0) AS n,
           c.window_label AS window_label
    FROM (SELECT k1, k2, k3,
                 fromUnixTimestamp64Micro(
                     arrayJoin(range(toUnixTimestamp64Micro(first_w),
                                     toUnixTimestamp64Micro(last_w) + 1, {window:Int64})),
                     'UTC') AS g_w
          FROM spans) AS s
    LEFT JOIN counts AS c ON c.k1 = s.k1 AND c.k2 = s.k2 AND c.k3 = s.k3 AND c.w = s.g_w
),
scored AS (
    SELECT *,
           if(count() OVER baseline = 0, 0,
              quantileExactInclusive(0.5)(n) OVER baseline) AS window_baseline
    FROM dense
    WINDOW baseline AS (PARTITION BY k1, k2, k3 ORDER BY w
                        ROWS BETWEEN {baseline_windows:Int64} PRECEDING AND 1 PRECEDING)
),
-- runs of consecutive windows at or above min_count
hot AS (
    SELECT *, n >= {multiple:Float64} * window_baseline AS triggers,
           toUnixTimestamp64Micro(w)
               - {window:Int64} * row_number() OVER (PARTITION BY k1, k2, k3 ORDER BY w) AS run
    FROM scored
    WHERE n >= {min_count:Int64}
),
-- a storm starts at a window that jumps to `multiple` times its baseline and lasts while
-- the count stays at or above min_count
storm_windows AS (
    SELECT *, if({episodes:Bool}, run, toUnixTimestamp64Micro(w)) AS episode
    FROM hot
    QUALIFY w >= min(if(triggers, w, NULL)) OVER (PARTITION BY k1, k2, k3, run)
),
storms AS (
    SELECT min(w) AS window_start, k1, k2, k3, det_mode(groupArray(window_label)) AS label,
           toInt64(sum(n)) AS count, max(n) AS peak_count, count() AS windows,
           argMin(window_baseline, w) AS baseline_median,
           max(w) + toIntervalMicrosecond({window:Int64}) AS window_end,
           argMax(w, (n, -toUnixTimestamp64Micro(w))) AS peak_window
    FROM storm_windows
    GROUP BY k1, k2, k3, episode
)
