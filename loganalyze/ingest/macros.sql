-- SQL helpers shared by the format readers (temporary macros, installed per connection).

-- A timestamp as exports write it: integer epoch (10 digits = s, 13 = ms, 16 = µs,
-- 19 = ns), ISO-8601 with or without zone, `YYYY-MM-DD HH:MM:SS.mmm UTC`, ClickHouse
-- DateTime64 text. Naive values are UTC (the connection runs in UTC).
CREATE OR REPLACE TEMP MACRO la_ts(x) AS (
    CASE
        WHEN x IS NULL THEN NULL
        -- epoch numbers: the magnitude tells the unit (9+ digits, so "2026" is no time)
        WHEN try_cast(x AS DOUBLE) BETWEEN 1e8 AND 1e20 THEN
            make_timestamp(CAST(try_cast(x AS DOUBLE) * CASE
                WHEN try_cast(x AS DOUBLE) >= 1e17 THEN 0.001
                WHEN try_cast(x AS DOUBLE) >= 1e14 THEN 1
                WHEN try_cast(x AS DOUBLE) >= 1e11 THEN 1000
                ELSE 1000000 END AS BIGINT))::TIMESTAMPTZ
        ELSE try_cast(trim(CAST(x AS VARCHAR)) AS TIMESTAMPTZ)
    END
);

-- An integer status that may arrive as a number or a string ("400").
CREATE OR REPLACE TEMP MACRO la_int(x) AS (
    try_cast(try_cast(nullif(nullif(trim(CAST(x AS VARCHAR)), ''), 'null') AS DOUBLE) AS BIGINT)
);

CREATE OR REPLACE TEMP MACRO la_double(x) AS (
    try_cast(nullif(nullif(trim(CAST(x AS VARCHAR)), ''), 'null') AS DOUBLE)
);

-- Text that is present but not a number: a row with such a status is rejected, not
-- stored with a NULL that would hide it from every status count.
CREATE OR REPLACE TEMP MACRO la_not_number(x) AS (
    x IS NOT NULL AND trim(CAST(x AS VARCHAR)) NOT IN ('', 'null')
    AND try_cast(trim(CAST(x AS VARCHAR)) AS DOUBLE) IS NULL
);

CREATE OR REPLACE TEMP MACRO la_nullif_text(x) AS (
    nullif(nullif(CAST(x AS VARCHAR), ''), 'null')
);

-- GoTrue logs paths without the /auth/v1 prefix that the gateway strips; detectors see
-- the public path in every source.
CREATE OR REPLACE TEMP MACRO la_auth_path(p) AS (
    CASE
        WHEN p IS NULL OR p = '' THEN NULL
        WHEN starts_with(p, '/auth/v1') THEN p
        WHEN starts_with(p, '/') THEN '/auth/v1' || p
        ELSE '/auth/v1/' || p
    END
);

-- SQLSTATE of a Postgres error message when the log line does not carry it (stderr
-- without %e in log_line_prefix). Ordered: the first matching pattern wins.
CREATE OR REPLACE TEMP MACRO la_infer_sqlstate(msg) AS (
    CASE
        WHEN msg IS NULL THEN NULL
        WHEN regexp_matches(msg, '^column .+ does not exist') THEN '42703'
        WHEN regexp_matches(msg, '^relation ".+" does not exist') THEN '42P01'
        WHEN regexp_matches(msg, '^(function|operator) .+ does not exist') THEN '42883'
        WHEN starts_with(msg, 'duplicate key value violates unique constraint') THEN '23505'
        WHEN regexp_matches(msg, 'violates foreign key constraint') THEN '23503'
        WHEN regexp_matches(msg, '^null value in column .+ violates not-null constraint') THEN '23502'
        WHEN regexp_matches(msg, 'violates check constraint') THEN '23514'
        WHEN regexp_matches(msg, '^(permission denied for |new row violates row-level security policy|must be owner of )') THEN '42501'
        WHEN starts_with(msg, 'canceling statement due to lock timeout') THEN '55P03'
        WHEN starts_with(msg, 'canceling statement due to conflict with recovery')
          OR starts_with(msg, 'terminating connection due to conflict with recovery') THEN '40001'
        WHEN starts_with(msg, 'canceling statement due to statement timeout')
          OR starts_with(msg, 'canceling statement due to user request') THEN '57014'
        WHEN starts_with(msg, 'terminating connection due to idle-in-transaction timeout') THEN '25P03'
        WHEN regexp_matches(msg, '^the database system is (starting up|shutting down|in recovery mode)') THEN '57P03'
        WHEN starts_with(msg, 'could not serialize access') THEN '40001'
        WHEN starts_with(msg, 'deadlock detected') THEN '40P01'
        WHEN regexp_matches(msg, '^(sorry, too many clients already|too many connections for role|remaining connection slots are reserved)') THEN '53300'
        WHEN starts_with(msg, 'current transaction is aborted') THEN '25P02'
        WHEN starts_with(msg, 'syntax error at or near') OR starts_with(msg, 'syntax error at end of input') THEN '42601'
        WHEN starts_with(msg, 'invalid input syntax for') THEN '22P02'
        WHEN starts_with(msg, 'value too long for type') THEN '22001'
        WHEN regexp_matches(msg, 'out of range') THEN '22003'
        WHEN starts_with(msg, 'division by zero') THEN '22012'
        WHEN starts_with(msg, 'password authentication failed for user') THEN '28P01'
        WHEN starts_with(msg, 'no pg_hba.conf entry') THEN '28000'
        WHEN regexp_matches(msg, '^role ".+" does not exist') THEN '28000'
        WHEN regexp_matches(msg, '^database ".+" does not exist') THEN '3D000'
        WHEN regexp_matches(msg, '^relation ".+" already exists') THEN '42P07'
        WHEN regexp_matches(msg, '^infinite recursion detected in policy') THEN '42P17'
        WHEN regexp_matches(msg, '^column ".+" is of type .+ but expression is of type') THEN '42804'
        WHEN starts_with(msg, 'could not obtain lock') THEN '55P03'
        WHEN starts_with(msg, 'terminating connection due to administrator command') THEN '57P01'
        WHEN regexp_matches(msg, '^(invalid frontend message type|incomplete message from client)') THEN '08P01'
        WHEN starts_with(msg, 'out of memory') THEN '53200'
        WHEN starts_with(msg, 'could not extend file') THEN '53100'
        ELSE NULL
    END
);

-- The code PostgREST puts in its Proxy-Status header: `PostgREST; error=42703`.
CREATE OR REPLACE TEMP MACRO la_proxy_status_code(ps) AS (
    nullif(regexp_extract(ps, 'error=([A-Za-z0-9]+)', 1), '')
);

-- Fallbacks from a gateway row's summary line `METHOD | STATUS | [IP | RAY |] URL | UA`,
-- for exports that selected no request/response columns (evaluated only for those rows).
CREATE OR REPLACE TEMP MACRO la_em_url(em) AS (
    list_filter(string_split(em, ' | '), lambda p: regexp_matches(p, '^[a-z]+://'))[1]
);
CREATE OR REPLACE TEMP MACRO la_em_part(em, i, min_parts) AS (
    CASE WHEN len(string_split(em, ' | ')) >= min_parts THEN string_split(em, ' | ')[i] END
);
