-- ClickHouse body of queries/db_errors.sql (same header, same output).
WITH
--@slice_views
--@include _db_errors
SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start,
       sqlstate,
       count() AS count,
       countIf(source_table = 'postgres_logs') AS postgres_count,
       countIf(source_table = 'postgrest_logs') AS postgrest_count,
       countIf(source_table = 'edge_logs') AS edge_count,
       arrayStringConcat(arraySort(groupUniqArray(source_table)), ',') AS sources
FROM db_errors
--@slice_filter WHERE
GROUP BY window_start, sqlstate
ORDER BY window_start, count DESC, sqlstate
