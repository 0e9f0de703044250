-- The normalized tables: the contract between ingest and the detectors.
-- Every log table has `id` (unique per table; re-ingesting adds no duplicates), `ts`
-- (TIMESTAMPTZ, UTC) and `file_id` (the file the row came from).
-- The `--` comment after each column is its documentation: `loganalyze schema` prints
-- it and docs/schema.md is generated from it (python -m loganalyze.schema_doc).

CREATE SEQUENCE IF NOT EXISTS ingested_file_ids START 1;

-- One row per ingested file.
CREATE TABLE IF NOT EXISTS ingested_files (
    file_id      INTEGER PRIMARY KEY,  -- referenced by every log row's file_id
    file         VARCHAR NOT NULL,     -- path as given to ingest
    sha256       VARCHAR NOT NULL,     -- hash of the file as stored (compressed bytes for .gz)
    format       VARCHAR NOT NULL,     -- reader that read it (`loganalyze formats`), or 'empty'
    source       VARCHAR,              -- comma-separated log tables that received rows
    rows         BIGINT NOT NULL,      -- rows inserted
    duplicates   BIGINT NOT NULL,      -- rows skipped because the table already had their id
    rejected     BIGINT NOT NULL,      -- rows kept in rejected_rows instead
    min_ts       TIMESTAMPTZ,          -- earliest event inserted
    max_ts       TIMESTAMPTZ,          -- latest event inserted
    ingested_at  TIMESTAMPTZ NOT NULL, -- when the ingest ran
    notes        VARCHAR               -- what the reader assumed (e.g. a log_line_prefix), '; '-separated
);

-- Rows that parsed but could not be normalized; never dropped silently.
CREATE TABLE IF NOT EXISTS rejected_rows (
    file_id      INTEGER,           -- ingested_files.file_id
    file         VARCHAR NOT NULL,  -- path as given to ingest
    line         BIGINT,            -- line number (text logs) or 1-based row number (JSON/CSV exports; CSV counts the header)
    reason       VARCHAR NOT NULL,  -- why the row was rejected
    raw          VARCHAR            -- the row's original text
);

-- API gateway requests: hosted edge_logs, self-hosted Kong access lines.
CREATE TABLE IF NOT EXISTS edge_logs (
    id             VARCHAR NOT NULL,  -- export row id (uuid), or a content hash for text logs
    ts             TIMESTAMPTZ NOT NULL,  -- request time, UTC
    method         VARCHAR,  -- HTTP method
    path           VARCHAR,  -- public path, e.g. /rest/v1/registrations, /auth/v1/user
    query          VARCHAR,  -- query string with its leading '?', e.g. ?select=id&user_id=eq.…
    status         INTEGER,  -- HTTP status returned to the client
    latency_ms     DOUBLE,   -- origin response time in ms (hosted response.origin_time); NULL for Kong lines
    user_id        VARCHAR,  -- JWT subject (auth user uuid) of the Authorization header
    role           VARCHAR,  -- JWT role: anon, authenticated, service_role
    session_id     VARCHAR,  -- JWT session_id
    client_info    VARCHAR,  -- x-client-info header: supabase-js-node/… (server), supabase-js-web/…, supabase-ssr/… (browser)
    user_agent     VARCHAR,  -- User-Agent header
    ip             VARCHAR,  -- client IP (cf-connecting-ip / x-real-ip / Kong remote address)
    cf_ray         VARCHAR,  -- Cloudflare ray with colo suffix; equals auth_logs.request_id for Auth requests
    error_code     VARCHAR,  -- SQLSTATE or PGRST code from proxy_status (PostgREST; error=42703), else x-sb-error-code
    request_id     VARCHAR,  -- sb-request-id response header
    host           VARCHAR,  -- request host
    apikey_role    VARCHAR,  -- role of the apikey header JWT (anon, service_role)
    identifier     VARCHAR,  -- database / read replica identifier of hosted rows
    event_message  VARCHAR,  -- the export's summary line (METHOD | STATUS | … ) or the raw access line
    file_id        INTEGER   -- ingested_files.file_id
);

-- Postgres log entries: hosted postgres_logs, stderr, csvlog, jsonlog.
CREATE TABLE IF NOT EXISTS postgres_logs (
    id                VARCHAR NOT NULL,  -- export row id, or a content hash for native logs
    ts                TIMESTAMPTZ NOT NULL,  -- log time, UTC
    severity          VARCHAR,  -- LOG, ERROR, FATAL, PANIC, WARNING, NOTICE, …
    sqlstate          VARCHAR,  -- SQLSTATE (42703, 23505, …); from the log, or inferred from the message
    sqlstate_inferred BOOLEAN,  -- true when sqlstate was classified from the message text (no %e in the prefix)
    message           VARCHAR,  -- the message without prefix
    detail            VARCHAR,  -- DETAIL
    hint              VARCHAR,  -- HINT
    context           VARCHAR,  -- CONTEXT
    statement         VARCHAR,  -- the statement (STATEMENT line, csvlog query, `duration: … statement:` text)
    user_name         VARCHAR,  -- database role (authenticator = PostgREST traffic, supabase_auth_admin = Auth)
    database          VARCHAR,  -- database name
    application_name  VARCHAR,  -- application_name (pg_cron for cron jobs)
    backend_type      VARCHAR,  -- client backend, autovacuum worker, pg_cron launcher, …
    session_id        VARCHAR,  -- Postgres session id (%c)
    pid               BIGINT,   -- backend process id
    duration_ms       DOUBLE,   -- `duration: N ms` of log_min_duration_statement / log_duration
    command_tag       VARCHAR,  -- command tag (SELECT, INSERT, idle, …)
    connection_from   VARCHAR,  -- client host:port
    query_id          VARCHAR,  -- query id (text: may exceed 2^53)
    identifier        VARCHAR,  -- database / read replica identifier of hosted rows
    file_id           INTEGER   -- ingested_files.file_id
);

-- Auth (GoTrue) log lines: hosted auth_logs, self-hosted container JSON lines.
CREATE TABLE IF NOT EXISTS auth_logs (
    id           VARCHAR NOT NULL,  -- export row id, or a content hash for container lines
    ts           TIMESTAMPTZ NOT NULL,  -- GoTrue `time` (whole seconds), UTC
    level        VARCHAR,  -- info, warning, error, fatal
    msg          VARCHAR,  -- `request completed`, `audit_event`, `Login`, or the error text of the old two-line form
    method       VARCHAR,  -- HTTP method
    path         VARCHAR,  -- public path: /auth/v1/user, /auth/v1/token (GoTrue logs it without /auth/v1)
    status       INTEGER,  -- HTTP status (on `request completed` lines)
    duration_ms  DOUBLE,   -- GoTrue-internal time in ms (logged in ns)
    error_code   VARCHAR,  -- e.g. refresh_token_already_used, invalid_credentials
    error        VARCHAR,  -- internal error text
    request_id   VARCHAR,  -- hosted: Cloudflare ray (= edge_logs.cf_ray); self-hosted: uuid
    grant_type   VARCHAR,  -- /token grant type: password, refresh_token, …
    user_id      VARCHAR,  -- actor of auth/audit events, user of Login lines
    remote_addr  VARCHAR,  -- client address
    action       VARCHAR,  -- audit action: login, token_refreshed, token_revoked, …
    component    VARCHAR,  -- GoTrue component (api, …)
    event_message VARCHAR, -- the original GoTrue JSON line
    file_id      INTEGER   -- ingested_files.file_id
);

-- Realtime server lines and Billing-metrics measurements.
CREATE TABLE IF NOT EXISTS realtime_logs (
    id                 VARCHAR NOT NULL,  -- export row id, or a content hash
    ts                 TIMESTAMPTZ NOT NULL,  -- UTC
    level              VARCHAR,  -- info, warning, error, debug
    message            VARCHAR,  -- the message text
    external_id        VARCHAR,  -- tenant / project ref
    project            VARCHAR,  -- project metadata
    error_code         VARCHAR,  -- Realtime error code (ChannelRateLimitReached, …)
    metric             VARCHAR,  -- Billing-metrics name: presence_events, connections, events, db_events, joins
    connected          BIGINT,   -- measurements.connected (connections metric)
    connected_cluster  BIGINT,   -- measurements.connected_cluster
    limit_value        DOUBLE,   -- measurements.limit
    sum_value          DOUBLE,   -- measurements.sum (events in the 5 s rate-counter tick)
    file_id            INTEGER   -- ingested_files.file_id
);

-- PostgREST lines: access log (stdout) and diagnostics (stderr).
CREATE TABLE IF NOT EXISTS postgrest_logs (
    id          VARCHAR NOT NULL,  -- export row id, or a content hash
    ts          TIMESTAMPTZ NOT NULL,  -- UTC
    level       VARCHAR,  -- level where known
    message     VARCHAR,  -- the line without its time prefix
    kind        VARCHAR,  -- access, diagnostic, or query (log-query SQL)
    method      VARCHAR,  -- access lines: HTTP method
    path        VARCHAR,  -- access lines: path as PostgREST saw it
    query       VARCHAR,  -- access lines: query string with its leading '?'
    status      INTEGER,  -- access lines: HTTP status
    role        VARCHAR,  -- access lines: database role
    ip          VARCHAR,  -- access lines: client address
    user_agent  VARCHAR,  -- access lines: User-Agent
    sqlstate    VARCHAR,  -- SQLSTATE or PGRST code found in the message
    host        VARCHAR,  -- host metadata of hosted rows
    file_id     INTEGER   -- ingested_files.file_id
);

-- Edge Function invocations (hosted function_edge_logs).
CREATE TABLE IF NOT EXISTS function_edge_logs (
    id                 VARCHAR NOT NULL,  -- export row id
    ts                 TIMESTAMPTZ NOT NULL,  -- UTC
    level              VARCHAR,  -- level where known
    message            VARCHAR,  -- event message
    method             VARCHAR,  -- HTTP method
    path               VARCHAR,  -- request pathname
    status             INTEGER,  -- HTTP status
    execution_time_ms  DOUBLE,   -- execution time in ms
    function_id        VARCHAR,  -- function id
    execution_id       VARCHAR,  -- execution id
    deployment_id      VARCHAR,  -- deployment id
    file_id            INTEGER   -- ingested_files.file_id
);

-- Supavisor (connection pooler) lines.
CREATE TABLE IF NOT EXISTS supavisor_logs (
    id          VARCHAR NOT NULL,  -- export row id, or a content hash
    ts          TIMESTAMPTZ NOT NULL,  -- UTC
    level       VARCHAR,  -- level
    message     VARCHAR,  -- message (DbHandler: …, ClientHandler: …)
    project     VARCHAR,  -- project / tenant
    user_name   VARCHAR,  -- database user
    db_name     VARCHAR,  -- database
    file_id     INTEGER   -- ingested_files.file_id
);

-- Vercel function and request logs (drains, `vercel logs --json`, dashboard export).
CREATE TABLE IF NOT EXISTS vercel_logs (
    id           VARCHAR NOT NULL,  -- Vercel log id, or a content hash
    ts           TIMESTAMPTZ NOT NULL,  -- UTC
    request_id   VARCHAR,  -- request id shared by a request's lines
    method       VARCHAR,  -- HTTP method
    path         VARCHAR,  -- route path without host or query, e.g. /api/presence/ping
    query        VARCHAR,  -- query string with its leading '?'
    status       INTEGER,  -- HTTP status (-1 = no response)
    duration_ms  DOUBLE,   -- function duration in ms where the format carries it
    level        VARCHAR,  -- info, warning, error, fatal
    message      VARCHAR,  -- console output / message
    source       VARCHAR,  -- lambda, edge, build, static, serverless, …
    type         VARCHAR,  -- stdout, stderr, request, report, …
    host         VARCHAR,  -- deployment host
    user_agent   VARCHAR,  -- client User-Agent
    region       VARCHAR,  -- execution region
    file_id      INTEGER   -- ingested_files.file_id
);

-- pg_cron job runs (cron.job_run_details exports). ts = start_time, else end_time; a run
-- pg_cron could not even start ("connection failed") has neither and keeps ts NULL.
CREATE TABLE IF NOT EXISTS cron_runs (
    id              VARCHAR NOT NULL,  -- runid as text, or a content hash
    ts              TIMESTAMPTZ,  -- start_time, else end_time, UTC
    jobid           BIGINT,   -- cron job id
    runid           BIGINT,   -- run id
    job_pid         BIGINT,   -- backend pid of the run
    database        VARCHAR,  -- database
    username        VARCHAR,  -- role that ran it
    command         VARCHAR,  -- the job's command
    status          VARCHAR,  -- starting, running, sending, connecting, succeeded, failed
    return_message  VARCHAR,  -- command tag on success, error text on failure
    start_time      TIMESTAMPTZ,  -- UTC
    end_time        TIMESTAMPTZ,  -- UTC
    file_id         INTEGER   -- ingested_files.file_id
);
