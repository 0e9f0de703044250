-- SQL helpers of the Postgres native log readers (temporary macros, installed per load).

-- Minutes east of UTC for the time-zone abbreviations PostgreSQL prints in %t/%m and in
-- csvlog/jsonlog timestamps (`log_timezone`). DuckDB's TIMESTAMPTZ cast does not know
-- most of them (MSK, CEST, ...). Ambiguous abbreviations follow PostgreSQL's own
-- `Default` abbreviation set (CST = US Central, IST = Israel). Readers join this table
-- on the zone text: a hash join with a tiny build side, far cheaper per line than a
-- CASE over every abbreviation.
CREATE OR REPLACE TEMP TABLE _la_pg_zones AS
SELECT * FROM (VALUES
    ('', 0), ('UTC', 0), ('GMT', 0), ('Z', 0), ('UT', 0),
    ('WET', 0), ('WEST', 60), ('BST', 60),
    ('CET', 60), ('CEST', 120), ('MET', 60), ('MEST', 120),
    ('WAT', 60), ('CAT', 120), ('SAST', 120),
    ('EET', 120), ('EEST', 180), ('IST', 120), ('IDT', 180),
    ('MSK', 180), ('MSD', 240), ('EAT', 180), ('TRT', 180),
    ('GST', 240), ('PKT', 300), ('ICT', 420), ('WIB', 420),
    ('HKT', 480), ('SGT', 480), ('AWST', 480), ('PHT', 480),
    ('JST', 540), ('KST', 540),
    ('ACST', 570), ('ACDT', 630), ('AEST', 600), ('AEDT', 660),
    ('NZST', 720), ('NZDT', 780),
    ('NST', -210), ('NDT', -150), ('AST', -240), ('ADT', -180),
    ('EST', -300), ('EDT', -240), ('CST', -360), ('CDT', -300),
    ('MST', -420), ('MDT', -360), ('PST', -480), ('PDT', -420),
    ('AKST', -540), ('AKDT', -480), ('HST', -600),
    ('BRT', -180), ('ART', -180), ('CLT', -240)
) AS z(abbrev, minutes);

-- Zones without an abbreviation are printed as numeric offsets (`+03`, `-0530`, `+05:30`).
CREATE OR REPLACE TEMP MACRO la_pg_numeric_zone_minutes(z) AS (
    CASE WHEN regexp_full_match(z, '[+-]\d\d(:?\d\d)?') THEN
        (CASE WHEN starts_with(z, '-') THEN -1 ELSE 1 END)
        * (CAST(substr(z, 2, 2) AS INTEGER) * 60
           + CASE WHEN length(replace(z, ':', '')) = 5
                  THEN CAST(right(replace(z, ':', ''), 2) AS INTEGER) ELSE 0 END)
    END
);

-- `YYYY-MM-DD HH:MM:SS[.fff] ZONE` (%t, %m, csvlog, jsonlog): the zone text, and the
-- time as UTC given the zone's minutes east of UTC (from _la_pg_zones or numeric).
CREATE OR REPLACE TEMP MACRO la_pg_ts_zone(x) AS (
    CASE WHEN x[11] = ' ' AND strpos(substr(x, 12), ' ') > 0
         THEN substr(x, 12 + strpos(substr(x, 12), ' ')) ELSE '' END
);

-- A PostgreSQL log time as UTC: the text form above (with `zone_minutes`), `%n` epoch
-- seconds, or ISO-8601 (cloud log envelopes). An unknown zone gives NULL: the row is
-- then rejected, not shifted by a guess.
CREATE OR REPLACE TEMP MACRO la_pg_ts(x, zone_minutes) AS (
    CASE
        WHEN x IS NULL OR x = '' THEN NULL
        WHEN x[11] = ' ' THEN
            CAST(try_cast(CASE WHEN strpos(substr(x, 12), ' ') > 0
                               THEN left(x, 10 + strpos(substr(x, 12), ' ')) ELSE x END AS TIMESTAMP)
                 - to_minutes(zone_minutes) AS TIMESTAMPTZ)
        WHEN regexp_full_match(x, '\d{9,11}(\.\d+)?') THEN to_timestamp(CAST(x AS DOUBLE))
        ELSE try_cast(x AS TIMESTAMPTZ)
    END
);

-- The statement text a message carries itself: `duration: N ms  statement: ...`
-- (log_min_duration_statement), `duration: N ms  execute <name>: ...` (extended
-- protocol; parse and bind likewise), and `statement: ...` (log_statement). String
-- functions, not a regex: these run on most rows of a busy server's log.
CREATE OR REPLACE TEMP MACRO la_pg_statement_tail(rest) AS (
    CASE
        WHEN starts_with(rest, 'statement: ') THEN substr(rest, 12)
        WHEN (starts_with(rest, 'execute ') OR starts_with(rest, 'parse ') OR starts_with(rest, 'bind '))
             AND strpos(rest, ': ') > 0 THEN substr(rest, strpos(rest, ': ') + 2)
    END
);

CREATE OR REPLACE TEMP MACRO la_pg_message_statement(msg) AS (
    nullif(CASE
        WHEN starts_with(msg, 'duration: ') AND strpos(msg, ' ms ') > 0
            THEN la_pg_statement_tail(ltrim(substr(msg, strpos(msg, ' ms ') + 4)))
        ELSE la_pg_statement_tail(msg)
    END, '')
);

CREATE OR REPLACE TEMP MACRO la_pg_duration_ms(msg) AS (
    CASE WHEN starts_with(msg, 'duration: ') THEN
        try_cast(split_part(substr(msg, 11), ' ', 1) AS DOUBLE)
    END
);

-- `host(port)` as %r prints it, `host:port` as csvlog does: one shape for both.
CREATE OR REPLACE TEMP MACRO la_pg_connection_from(x) AS (
    CASE WHEN x IS NULL OR x = '' THEN NULL
         WHEN ends_with(x, ')') AND strpos(x, '(') > 0
             THEN left(x, strpos(x, '(') - 1) || ':' || substr(x, strpos(x, '(') + 1, length(x) - strpos(x, '(') - 1)
         ELSE x END
);

-- The identity of one event, the same whichever destination wrote it (stderr, csvlog,
-- jsonlog of one server): its time to the millisecond (UTC), the backend's pid, the
-- severity and the first line of the message (stderr's ` at character N` already cut,
-- as csvlog and jsonlog keep it in a column of its own). The readers append the
-- occurrence number among entries of the file with the same key, which tells apart
-- what one backend logged twice in one millisecond.
CREATE OR REPLACE TEMP MACRO la_pg_event_key(ts, pid, severity, message) AS (
    md5(concat(CAST(epoch_ms(ts) AS VARCHAR), '|', coalesce(CAST(pid AS VARCHAR), ''), '|',
               coalesce(severity, ''), '|', split_part(message, chr(10), 1)))
);
