-- River's tables stay (its own migrations own them); the jobs table comes back empty.
DROP INDEX ipn_attempts_open_idx;
DROP INDEX ipn_deliveries_work_idx;
ALTER TABLE ipn_deliveries DROP COLUMN resend_requested_by;
ALTER TABLE ipn_deliveries DROP COLUMN resend_requested_at;
CREATE TABLE jobs (
    id              TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    unique_key      TEXT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    organization_id TEXT NULL,
    state           TEXT NOT NULL CHECK (state IN ('available', 'running', 'completed', 'failed', 'cancelled')),
    attempt         INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL DEFAULT 25,
    run_at          TIMESTAMP NOT NULL,
    deadline        TIMESTAMP NULL,
    locked_by       TEXT NULL,
    locked_until    TIMESTAMP NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP NULL,
    kicked_at       TIMESTAMP NULL
);
CREATE UNIQUE INDEX jobs_unique_key ON jobs (kind, unique_key) WHERE unique_key IS NOT NULL;
CREATE INDEX jobs_ready_idx ON jobs (run_at) WHERE state IN ('available', 'running');
