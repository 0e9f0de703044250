-- ClickHouse body of queries/cron_failures.sql (same header, same output). A failed run's
-- start is the ASOF key, so it is made non-nullable (runs without a time are outside the
-- range anyway); the run's columns are renamed so the log error's keep their names. A
-- table joined to another is read through a subquery (see polling_pressure.sql).
WITH
runs AS (
    SELECT assumeNotNull(ts) AS ts, jobid, command, status, return_message,
           assumeNotNull(coalesce(start_time, ts)) AS run_start,
           assumeNotNull(coalesce(end_time, start_time, ts)) AS run_end
    FROM cron_runs
    WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
),
jobs AS (
    SELECT DISTINCT jobid AS job_jobid, command AS job_command
    FROM cron_runs WHERE jobid IS NOT NULL
),
log_errors AS (
    SELECT p.ts AS ts,
           coalesce(j.job_jobid,
                    toInt64OrNull(regexpExtract(p.message, '^cron job (\\d+)', 1))) AS jobid,
           coalesce(j.job_command, p.statement) AS command,
           p.message AS message
    FROM (SELECT ts, message, statement
          FROM postgres_logs
          WHERE ts >= {since:DateTime64(6, 'UTC')} AND ts < {until:DateTime64(6, 'UTC')}
            AND ((application_name = 'pg_cron'
                  AND upper(coalesce(severity, 'ERROR')) IN ('ERROR', 'FATAL'))
                 OR match(message, '^cron job \\d+ (failed|job startup timeout|.*error)'))) AS p
    LEFT JOIN jobs AS j ON j.job_command = p.statement
),
log_only AS (
    SELECT l.ts AS ts, l.jobid AS jobid, l.command AS command, l.message AS message
    FROM (SELECT *, coalesce(jobid, -1) AS job_key FROM log_errors) AS l
    ASOF LEFT JOIN (SELECT coalesce(jobid, -1) AS r_job_key, run_start AS r_start,
                           run_end AS r_end
                    FROM runs WHERE lower(status) = 'failed') AS r
      ON l.job_key = r.r_job_key AND l.ts >= r.r_start
    WHERE r.r_start IS NULL
       OR l.ts > r.r_end + toIntervalMicrosecond({match_tolerance:Int64})
),
events AS (
    SELECT ts, jobid, command, 'run' AS seen_in, status, return_message AS message FROM runs
    UNION ALL
    SELECT ts, jobid, command, 'log' AS seen_in, CAST('failed' AS Nullable(String)) AS status,
           message
    FROM log_only
)
SELECT det_bucket(ts, {window:Int64}, toUnixTimestamp64Micro({origin:DateTime64(6, 'UTC')})) AS window_start,
       jobid, command,
       countIf(lower(status) = 'failed') AS count,
       countIf(seen_in = 'run') AS runs,
       countIf(seen_in = 'run' AND lower(status) = 'failed') AS failed_runs,
       countIf(seen_in = 'log') AS log_errors,
       argMaxIf(message, ts, lower(status) = 'failed') AS last_error
FROM events
GROUP BY window_start, jobid, command
ORDER BY window_start, jobid, command
