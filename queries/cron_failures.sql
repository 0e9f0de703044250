-- name: cron_failures
-- title: pg_cron job failures
-- finds: failed pg_cron runs per window and job, each once: cron.job_run_details rows
--   (cron_runs, status failed) and Postgres ERROR rows of the job (application_name
--   pg_cron, or `cron job <id> ...` scheduler lines). A log error is the same failure as a
--   failed run of the same job (same command text, or same job id) when it lies between the
--   run's start and its end plus match_tolerance. Runs that never started carry no time
--   (pg_cron's "connection failed") and fall outside every range. count = failures;
--   runs / failed_runs from cron_runs; log_errors = failures only the Postgres log shows.
-- rank: 100
-- headline: pg_cron job {jobid} failed
-- param match_tolerance: interval = 2s -- how late a job's log error may follow its run's end
-- subject: jobid, command
-- metric count: count [failures] -- failed runs
-- metric runs: count [runs] -- runs
-- metric failed_runs: count [runs] -- runs marked failed
-- metric log_errors: count [failures] -- failures only the Postgres log shows
-- needs: cron_runs | postgres_logs
-- example cron_runs: status = 'failed'
-- details: last_error
-- events: count
WITH runs AS (
    SELECT ts, jobid, command, status, return_message,
           coalesce(start_time, ts) AS run_start,
           coalesce(end_time, start_time, ts) AS run_end
    FROM cron_runs
    WHERE ts >= $since AND ts < $until
),
jobs AS (
    SELECT DISTINCT jobid, command FROM cron_runs WHERE jobid IS NOT NULL
),
log_errors AS (
    SELECT p.ts,
           coalesce(j.jobid, TRY_CAST(nullif(regexp_extract(p.message, '^cron job (\d+)', 1), '')
                                      AS BIGINT)) AS jobid,
           coalesce(j.command, p.statement) AS command,
           p.message
    FROM postgres_logs AS p
    LEFT JOIN jobs AS j ON j.command = p.statement
    WHERE p.ts >= $since AND p.ts < $until
      AND ((p.application_name = 'pg_cron'
            AND upper(coalesce(p.severity, 'ERROR')) IN ('ERROR', 'FATAL'))
           OR regexp_matches(p.message, '^cron job \d+ (failed|job startup timeout|.*error)'))
),
failed_runs AS (
    SELECT * FROM runs WHERE lower(status) = 'failed'
),
log_only AS (
    SELECT l.*
    FROM log_errors AS l
    ASOF LEFT JOIN failed_runs AS r
      ON coalesce(l.jobid, -1) = coalesce(r.jobid, -1) AND l.ts >= r.run_start
    WHERE r.run_start IS NULL OR l.ts > r.run_end + $match_tolerance
),
events AS (
    SELECT ts, jobid, command, 'run' AS seen_in, status, return_message AS message FROM runs
    UNION ALL
    SELECT ts, jobid, command, 'log' AS seen_in, 'failed' AS status, message FROM log_only
)
SELECT time_bucket($window, ts, $origin) AS window_start, jobid, command,
       count(*) FILTER (WHERE lower(status) = 'failed') AS count,
       count(*) FILTER (WHERE seen_in = 'run') AS runs,
       count(*) FILTER (WHERE seen_in = 'run' AND lower(status) = 'failed') AS failed_runs,
       count(*) FILTER (WHERE seen_in = 'log') AS log_errors,
       arg_max(message, ts) FILTER (WHERE lower(status) = 'failed') AS last_error
FROM events
GROUP BY ALL
ORDER BY window_start, jobid, command
