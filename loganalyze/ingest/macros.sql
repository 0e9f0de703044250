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
-- without %e in log_line_prefix): the code of the server's own message template with
-- the most fixed text that the message fits (catalog and how it is matched:
-- loganalyze/ingest/sqlstate.py). A scalar subquery: DuckDB runs it once per distinct
-- message, but carries every column of the rows it is called on through its join, so
-- callers apply it to a narrow relation of distinct messages and join the codes back
-- (sqlstate.infer_staged, the Postgres readers). NULL gives NULL.
CREATE OR REPLACE TEMP MACRO la_infer_sqlstate(msg) AS (
    SELECT arg_max(c.sqlstate, c.preference)
    FROM (
        SELECT sqlstate, preference, like_pattern FROM _la_sqlstate_catalog
        WHERE head_key = left(msg, 24)
        UNION ALL
        SELECT sqlstate, preference, like_pattern FROM _la_sqlstate_catalog
        WHERE head_key = left(msg, 16)
        UNION ALL
        SELECT sqlstate, preference, like_pattern FROM _la_sqlstate_catalog
        WHERE head_key = left(msg, 8)
        UNION ALL
        SELECT sqlstate, preference, like_pattern FROM _la_sqlstate_catalog
        WHERE head_key = left(msg, 4)
        UNION ALL
        SELECT sqlstate, preference, like_pattern FROM _la_sqlstate_catalog
        WHERE tail_key = right(msg, 4)
        UNION ALL
        SELECT sqlstate, preference, like_pattern FROM _la_sqlstate_catalog
        WHERE head_key IS NULL AND tail_key IS NULL
    ) c
    WHERE like_escape(msg, c.like_pattern, '\')
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
