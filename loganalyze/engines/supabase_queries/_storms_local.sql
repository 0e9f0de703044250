-- DuckDB, run locally on the merged per-window counts of the slices (`pushed`: k1, k2,
-- k3, w, label, n): the rest of det_storms (queries/_macros.sql) from its `counts` on.
-- Ties the Supabase store could break either way are settled as on the ClickHouse
-- engines: the most frequent label, the smallest among equals; the earliest peak window.
WITH labelled AS (
    SELECT k1, k2, k3, w, label, sum(n) AS label_n FROM pushed GROUP BY ALL
),
counts AS (
    SELECT k1, k2, k3, w, sum(label_n) AS n,
           first(label ORDER BY label_n DESC, label) FILTER (WHERE label IS NOT NULL) AS label
    FROM labelled
    GROUP BY k1, k2, k3, w
),
spans AS (
    SELECT k1, k2, k3, min(w) AS first_w, max(w) AS last_w FROM counts GROUP BY ALL
),
dense AS (
    SELECT s.k1, s.k2, s.k3, g.w, coalesce(c.n, 0) AS n, c.label
    FROM spans AS s
    CROSS JOIN LATERAL (SELECT unnest(generate_series(s.first_w, s.last_w, $width)) AS w) AS g
    LEFT JOIN counts AS c ON c.k1 = s.k1 AND c.k2 = s.k2 AND c.k3 = s.k3 AND c.w = g.w
),
scored AS (
    SELECT *,
           coalesce(median(n) OVER (PARTITION BY k1, k2, k3 ORDER BY w
                                    ROWS BETWEEN $baseline PRECEDING AND 1 PRECEDING), 0)
               AS baseline_median
    FROM dense
),
hot AS (
    SELECT *, n >= $multiple * baseline_median AS triggers,
           w - $width * row_number() OVER (PARTITION BY k1, k2, k3 ORDER BY w) AS run
    FROM scored
    WHERE n >= $min_count
),
storm_windows AS (
    SELECT *, CASE WHEN $merge THEN run ELSE w END AS episode
    FROM hot
    QUALIFY w >= min(CASE WHEN triggers THEN w END) OVER (PARTITION BY k1, k2, k3, run)
),
episode_labels AS (
    SELECT k1, k2, k3, episode, first(label ORDER BY c DESC, label) AS label
    FROM (SELECT k1, k2, k3, episode, label, count(*) AS c
          FROM storm_windows WHERE label IS NOT NULL GROUP BY ALL)
    GROUP BY ALL
),
storms AS (
    SELECT min(w) AS window_start, k1, k2, k3,
           sum(n)::BIGINT AS count, max(n) AS peak_count, count(*) AS windows,
           arg_min(baseline_median, w) AS baseline_median,
           max(w) + $width AS window_end, first(w ORDER BY n DESC, w) AS peak_window, episode
    FROM storm_windows
    GROUP BY k1, k2, k3, episode
)
SELECT s.window_start, s.k1, s.k2, s.k3, l.label, s.count, s.peak_count, s.windows,
       s.baseline_median, s.window_end, s.peak_window
FROM storms AS s
LEFT JOIN episode_labels AS l
  ON l.k1 IS NOT DISTINCT FROM s.k1 AND l.k2 IS NOT DISTINCT FROM s.k2
 AND l.k3 IS NOT DISTINCT FROM s.k3 AND l.episode = s.episode
