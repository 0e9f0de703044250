-- Push-down part of queries/status_storms.sql: the slice's 4xx/5xx responses per source,
-- status class, path and window (storms are found after the merge, _storms_local.sql).
WITH
--@include _tables
,
http AS (
    SELECT ts, 'edge' AS source, path, status
    FROM edge_logs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
      AND status IS NOT NULL
),
events AS (
    SELECT ts, source AS k1, det_status_class(status) AS k2, path AS k3,
           CAST(NULL AS Nullable(String)) AS label
    FROM http
    WHERE status >= 400
)
SELECT k1, k2, k3,
       det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS w,
       label, count() AS n
FROM events
WHERE ts >= {core_since:DateTime64(6, 'UTC')} AND ts < {core_until:DateTime64(6, 'UTC')}
GROUP BY k1, k2, k3, w, label
