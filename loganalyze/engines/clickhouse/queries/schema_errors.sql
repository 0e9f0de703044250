-- ClickHouse body of queries/schema_errors.sql (same header, same output).
WITH
--@slice_views
--@include _db_errors
,
events AS (
    SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start, *
    FROM db_errors
    WHERE (sqlstate LIKE '42%' OR sqlstate LIKE 'PGRST2%')
--@slice_filter AND
)
SELECT window_start, sqlstate, relation, column_name, message,
       count() AS count,
       countIf(source_table = 'postgres_logs') AS postgres_count,
       countIf(source_table = 'postgrest_logs') AS postgrest_count,
       countIf(source_table = 'edge_logs') AS edge_count,
       arrayStringConcat(arraySort(groupUniqArray(source_table)), ',') AS sources
FROM events
GROUP BY window_start, sqlstate, relation, column_name, message
ORDER BY window_start, count DESC, sqlstate, relation, column_name, message
