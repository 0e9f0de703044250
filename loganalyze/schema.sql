-- The normalized tables: the contract between ingest and the detectors.
-- Every log table has `id` (unique per table; re-ingesting adds no duplicates), `ts`
-- (TIMESTAMPTZ, UTC) and `file_id` (-> ingested_files.file_id, the file the row came from).
-- Column meanings are documented in docs/schema.md; tests/test_docs.py keeps the two in step.

CREATE SEQUENCE IF NOT EXISTS ingested_file_ids START 1;

CREATE TABLE IF NOT EXISTS ingested_files (
    file_id      INTEGER PRIMARY KEY,
    file         VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    format       VARCHAR NOT NULL,
    source       VARCHAR,
    rows         BIGINT NOT NULL,
    duplicates   BIGINT NOT NULL,
    rejected     BIGINT NOT NULL,
    min_ts       TIMESTAMPTZ,
    max_ts       TIMESTAMPTZ,
    ingested_at  TIMESTAMPTZ NOT NULL,
    notes        VARCHAR
);

CREATE TABLE IF NOT EXISTS rejected_rows (
    file_id      INTEGER,
    file         VARCHAR NOT NULL,
    line         BIGINT,
    reason       VARCHAR NOT NULL,
    raw          VARCHAR
);

CREATE TABLE IF NOT EXISTS edge_logs (
    id             VARCHAR NOT NULL,
    ts             TIMESTAMPTZ NOT NULL,
    method         VARCHAR,
    path           VARCHAR,
    query          VARCHAR,
    status         INTEGER,
    latency_ms     DOUBLE,
    user_id        VARCHAR,
    role           VARCHAR,
    session_id     VARCHAR,
    client_info    VARCHAR,
    user_agent     VARCHAR,
    ip             VARCHAR,
    cf_ray         VARCHAR,
    error_code     VARCHAR,
    request_id     VARCHAR,
    host           VARCHAR,
    apikey_role    VARCHAR,
    identifier     VARCHAR,
    event_message  VARCHAR,
    file_id        INTEGER
);

CREATE TABLE IF NOT EXISTS postgres_logs (
    id                VARCHAR NOT NULL,
    ts                TIMESTAMPTZ NOT NULL,
    severity          VARCHAR,
    sqlstate          VARCHAR,
    sqlstate_inferred BOOLEAN,
    message           VARCHAR,
    detail            VARCHAR,
    hint              VARCHAR,
    context           VARCHAR,
    statement         VARCHAR,
    user_name         VARCHAR,
    database          VARCHAR,
    application_name  VARCHAR,
    backend_type      VARCHAR,
    session_id        VARCHAR,
    pid               BIGINT,
    duration_ms       DOUBLE,
    command_tag       VARCHAR,
    connection_from   VARCHAR,
    query_id          VARCHAR,
    identifier        VARCHAR,
    file_id           INTEGER
);

CREATE TABLE IF NOT EXISTS auth_logs (
    id           VARCHAR NOT NULL,
    ts           TIMESTAMPTZ NOT NULL,
    level        VARCHAR,
    msg          VARCHAR,
    method       VARCHAR,
    path         VARCHAR,
    status       INTEGER,
    duration_ms  DOUBLE,
    error_code   VARCHAR,
    error        VARCHAR,
    request_id   VARCHAR,
    grant_type   VARCHAR,
    user_id      VARCHAR,
    remote_addr  VARCHAR,
    action       VARCHAR,
    component    VARCHAR,
    event_message VARCHAR,
    file_id      INTEGER
);

CREATE TABLE IF NOT EXISTS realtime_logs (
    id                 VARCHAR NOT NULL,
    ts                 TIMESTAMPTZ NOT NULL,
    level              VARCHAR,
    message            VARCHAR,
    external_id        VARCHAR,
    project            VARCHAR,
    error_code         VARCHAR,
    metric             VARCHAR,
    connected          BIGINT,
    connected_cluster  BIGINT,
    limit_value        DOUBLE,
    sum_value          DOUBLE,
    file_id            INTEGER
);

CREATE TABLE IF NOT EXISTS postgrest_logs (
    id          VARCHAR NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    level       VARCHAR,
    message     VARCHAR,
    kind        VARCHAR,
    method      VARCHAR,
    path        VARCHAR,
    query       VARCHAR,
    status      INTEGER,
    role        VARCHAR,
    ip          VARCHAR,
    user_agent  VARCHAR,
    sqlstate    VARCHAR,
    host        VARCHAR,
    file_id     INTEGER
);

CREATE TABLE IF NOT EXISTS function_edge_logs (
    id                 VARCHAR NOT NULL,
    ts                 TIMESTAMPTZ NOT NULL,
    level              VARCHAR,
    message            VARCHAR,
    method             VARCHAR,
    path               VARCHAR,
    status             INTEGER,
    execution_time_ms  DOUBLE,
    function_id        VARCHAR,
    execution_id       VARCHAR,
    deployment_id      VARCHAR,
    file_id            INTEGER
);

CREATE TABLE IF NOT EXISTS supavisor_logs (
    id          VARCHAR NOT NULL,
    ts          TIMESTAMPTZ NOT NULL,
    level       VARCHAR,
    message     VARCHAR,
    project     VARCHAR,
    user_name   VARCHAR,
    db_name     VARCHAR,
    file_id     INTEGER
);

CREATE TABLE IF NOT EXISTS vercel_logs (
    id           VARCHAR NOT NULL,
    ts           TIMESTAMPTZ NOT NULL,
    request_id   VARCHAR,
    method       VARCHAR,
    path         VARCHAR,
    query        VARCHAR,
    status       INTEGER,
    duration_ms  DOUBLE,
    level        VARCHAR,
    message      VARCHAR,
    source       VARCHAR,
    type         VARCHAR,
    host         VARCHAR,
    user_agent   VARCHAR,
    region       VARCHAR,
    file_id      INTEGER
);

-- ts = start_time, else end_time; a run pg_cron could not even start ("connection failed")
-- has neither and keeps ts NULL rather than being dropped.
CREATE TABLE IF NOT EXISTS cron_runs (
    id              VARCHAR NOT NULL,
    ts              TIMESTAMPTZ,
    jobid           BIGINT,
    runid           BIGINT,
    job_pid         BIGINT,
    database        VARCHAR,
    username        VARCHAR,
    command         VARCHAR,
    status          VARCHAR,
    return_message  VARCHAR,
    start_time      TIMESTAMPTZ,
    end_time        TIMESTAMPTZ,
    file_id         INTEGER
);
