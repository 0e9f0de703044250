-- Push-down part of queries/conflict_storms.sql: the slice's conflicts per table, window
-- and named constraint. Storms (baselines over earlier windows, runs across windows) are
-- found after the slices are merged (_storms_local.sql), so a storm crossing a slice edge
-- is one storm.
WITH
--@include _tables
,
--@include _db_errors
,
events AS (
    SELECT ts, coalesce(relation, '?') AS k1, '' AS k2, '' AS k3, constraint_name AS label
    FROM db_errors
    WHERE sqlstate IN ('23505', '23P01') OR status = 409
)
SELECT k1, k2, k3,
       det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS w,
       label, count() AS n
FROM events
WHERE ts >= {core_since:DateTime64(6, 'UTC')} AND ts < {core_until:DateTime64(6, 'UTC')}
GROUP BY k1, k2, k3, w, label
