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
-- every window from a key's first to its last event; quiet ones count 0 (WITH FILL per
-- key: the columns before `w` are its sorting prefix). A key with a NULL part never joins
-- its own counts in DuckDB's body (NULL = NULL is not true), so its windows count 0 there;
-- the same here.
dense AS (
    SELECT k1, k2, k3, w,
           if(k1 IS NULL OR k2 IS NULL OR k3 IS NULL, 0, n) AS n,
           if(k1 IS NULL OR k2 IS NULL OR k3 IS NULL, NULL, window_label) AS window_label
    FROM counts
    ORDER BY k1, k2, k3, w WITH FILL STEP toIntervalMicrosecond({window:Int64})
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
