-- Push-down body of queries/db_errors.sql: the ClickHouse body's logic over the views of
-- _tables.sql, counting only the errors of this slice (`core`); the request reads a margin
-- around it so that each error still meets its partner in another log.
WITH
--@include _tables
,
--@include _db_errors
SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start,
       sqlstate,
       count() AS count,
       countIf(source_table = 'postgres_logs') AS postgres_count,
       countIf(source_table = 'postgrest_logs') AS postgrest_count,
       countIf(source_table = 'edge_logs') AS edge_count,
       arrayStringConcat(arraySort(groupUniqArray(source_table)), ',') AS sources
FROM db_errors
WHERE ts >= {core_since:DateTime64(6, 'UTC')} AND ts < {core_until:DateTime64(6, 'UTC')}
GROUP BY window_start, sqlstate
ORDER BY window_start, count DESC, sqlstate
