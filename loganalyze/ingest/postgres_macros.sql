-- SQL helpers of the Postgres native log readers (temporary macros, installed per load).

-- Minutes east of UTC for the time-zone abbreviations PostgreSQL prints in %t/%m and in
-- csvlog/jsonlog timestamps (`log_timezone`). DuckDB's TIMESTAMPTZ cast does not know
-- most of them (MSK, CEST, ...). Ambiguous abbreviations follow PostgreSQL's own
-- `Default` abbreviation set (CST = US Central, IST = Israel). Zones without an
-- abbreviation are printed as numeric offsets (`+03`, `-0530`).
CREATE OR REPLACE TEMP MACRO la_pg_zone_minutes(z) AS (
    CASE
        WHEN z IS NULL OR z = '' THEN 0
        WHEN regexp_full_match(z, '[+-]\d\d(:?\d\d)?') THEN
            (CASE WHEN starts_with(z, '-') THEN -1 ELSE 1 END)
            * (CAST(substr(z, 2, 2) AS INTEGER) * 60
               + CASE WHEN length(replace(z, ':', '')) = 5
                      THEN CAST(right(replace(z, ':', ''), 2) AS INTEGER) ELSE 0 END)
        ELSE CASE upper(z)
            WHEN 'UTC' THEN 0 WHEN 'GMT' THEN 0 WHEN 'Z' THEN 0 WHEN 'UT' THEN 0
            WHEN 'WET' THEN 0 WHEN 'WEST' THEN 60 WHEN 'BST' THEN 60
            WHEN 'CET' THEN 60 WHEN 'CEST' THEN 120 WHEN 'MET' THEN 60 WHEN 'MEST' THEN 120
            WHEN 'WAT' THEN 60 WHEN 'CAT' THEN 120 WHEN 'SAST' THEN 120
            WHEN 'EET' THEN 120 WHEN 'EEST' THEN 180 WHEN 'IST' THEN 120 WHEN 'IDT' THEN 180
            WHEN 'MSK' THEN 180 WHEN 'MSD' THEN 240 WHEN 'EAT' THEN 180 WHEN 'TRT' THEN 180
            WHEN 'GST' THEN 240 WHEN 'PKT' THEN 300 WHEN 'ICT' THEN 420 WHEN 'WIB' THEN 420
            WHEN 'HKT' THEN 480 WHEN 'SGT' THEN 480 WHEN 'AWST' THEN 480 WHEN 'PHT' THEN 480
            WHEN 'JST' THEN 540 WHEN 'KST' THEN 540
            WHEN 'ACST' THEN 570 WHEN 'ACDT' THEN 630 WHEN 'AEST' THEN 600 WHEN 'AEDT' THEN 660
            WHEN 'NZST' THEN 720 WHEN 'NZDT' THEN 780
            WHEN 'NST' THEN -210 WHEN 'NDT' THEN -150
            WHEN 'AST' THEN -240 WHEN 'ADT' THEN -180
            WHEN 'EST' THEN -300 WHEN 'EDT' THEN -240 WHEN 'CST' THEN -360 WHEN 'CDT' THEN -300
            WHEN 'MST' THEN -420 WHEN 'MDT' THEN -360 WHEN 'PST' THEN -480 WHEN 'PDT' THEN -420
            WHEN 'AKST' THEN -540 WHEN 'AKDT' THEN -480 WHEN 'HST' THEN -600
            WHEN 'BRT' THEN -180 WHEN 'ART' THEN -180 WHEN 'CLT' THEN -240
            ELSE NULL
        END
    END
);

-- A PostgreSQL log timestamp as UTC: `YYYY-MM-DD HH:MM:SS[.fff] ZONE` (%t, %m, csvlog,
-- jsonlog), `%n` epoch seconds with milliseconds, or ISO-8601 (cloud log envelopes).
-- An unknown zone gives NULL (the row is then rejected, not shifted by a guess).
CREATE OR REPLACE TEMP MACRO la_pg_ts(x) AS (
    CASE
        WHEN x IS NULL OR x = '' THEN NULL
        WHEN regexp_full_match(x, '\d{9,11}(\.\d+)?') THEN to_timestamp(CAST(x AS DOUBLE))
        WHEN x[11] = ' ' AND length(x) > 19 AND x[20] IN ('.', ' ') THEN
            CAST(try_cast(string_split(x, ' ')[1] || ' ' || string_split(x, ' ')[2] AS TIMESTAMP)
                 - to_minutes(la_pg_zone_minutes(string_split(x, ' ')[3])) AS TIMESTAMPTZ)
        ELSE try_cast(x AS TIMESTAMPTZ)
    END
);

-- The statement text a message carries itself: `duration: N ms  statement: ...`
-- (log_min_duration_statement), `duration: N ms  execute <name>: ...` (extended
-- protocol), and `statement: ...` (log_statement).
CREATE OR REPLACE TEMP MACRO la_pg_message_statement(msg) AS (
    CASE
        WHEN starts_with(msg, 'duration: ') OR starts_with(msg, 'statement: ')
          OR starts_with(msg, 'execute ') THEN
            nullif(regexp_extract(msg,
                '(?s)^(?:duration: [0-9.]+ ms +)?(?:statement|(?:execute|parse|bind) [^:]*): ?(.*)$', 1), '')
    END
);

CREATE OR REPLACE TEMP MACRO la_pg_duration_ms(msg) AS (
    CASE WHEN starts_with(msg, 'duration: ') THEN
        try_cast(regexp_extract(msg, '^duration: ([0-9.]+) ms', 1) AS DOUBLE)
    END
);

-- `host(port)` as %r prints it, `host:port` as csvlog does: one shape for both.
CREATE OR REPLACE TEMP MACRO la_pg_connection_from(x) AS (
    CASE WHEN x IS NULL OR x = '' THEN NULL
         WHEN ends_with(x, ')') THEN regexp_replace(x, '^(.*)\((\d+)\)$', '\1:\2')
         ELSE x END
);
