-- Background work moves to River (github.com/riverqueue/river). River's tables come from River's
-- own migrations, which the migrate command applies before this one. This migration is a goose Go
-- migration (pkg/store, migrate.go): in one transaction it reads the queued rows of the jobs table,
-- runs the Up section below, and adopts those rows as River jobs (store.adoptLegacyJobs); the Down
-- section runs in a transaction of its own. The sections run whole (the database splits them).

-- +goose Up
--
-- Merchant notifications are owed by ipn_deliveries alone: a manual resend is a request on the
-- delivery, honoured in the transaction's order by whichever worker holds the transaction next.
ALTER TABLE ipn_deliveries ADD COLUMN resend_requested_at TIMESTAMP NULL;
ALTER TABLE ipn_deliveries ADD COLUMN resend_requested_by TEXT NULL;
-- The notifier's sweep: deliveries owed an attempt (due, or asked for by an operator).
CREATE INDEX ipn_deliveries_work_idx ON ipn_deliveries (next_attempt_at) WHERE status = 'pending' OR resend_requested_at IS NOT NULL;
-- Attempts in flight (a transaction's lock is its unfinished attempt).
CREATE INDEX ipn_attempts_open_idx ON ipn_attempts (transaction_id) WHERE finished_at IS NULL;
DROP TABLE jobs;

-- +goose Down
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
