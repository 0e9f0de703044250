-- Push-down half of det_storms (queries/_macros.sql): what a storm detector's body returns
-- on Supabase's side in place of `--@include _storms` and its final SELECT. The slice's
-- events per key, window and label; storms (baselines over earlier windows, runs across
-- windows) are found after the slices are merged (_storms_local.sql), so a storm crossing
-- a slice edge is one storm.
pushed_counts AS (
    SELECT k1, k2, k3,
           det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS w,
           label, count() AS n
    FROM events
--@slice_filter WHERE
    GROUP BY k1, k2, k3, w, label
)
SELECT k1, k2, k3, w, label, n FROM pushed_counts
