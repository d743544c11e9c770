-- +goose Up
-- Registering our payment gateway on a Duda site is retried with backoff until Duda accepts it;
-- the operator sees where it stands: gateway_state '' (never tried), 'registered', 'retrying'
-- (with Duda's last answer and the next attempt) or 'failed' (no attempt left).
ALTER TABLE duda_sites ADD COLUMN gateway_state TEXT NOT NULL DEFAULT '';
ALTER TABLE duda_sites ADD COLUMN gateway_error TEXT NOT NULL DEFAULT '';
ALTER TABLE duda_sites ADD COLUMN gateway_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE duda_sites ADD COLUMN gateway_next_attempt_at TIMESTAMP NULL;

-- Signed lifecycle calls (install, uninstall) already processed, by the digest of their signed
-- text: a replay within the signature's freshness window changes nothing (an old install would
-- otherwise roll the site's tokens back to revoked ones).
CREATE TABLE duda_lifecycle_calls (
    connection_id TEXT NOT NULL REFERENCES duda_connections (id) ON DELETE CASCADE,
    digest        TEXT NOT NULL,
    kind          TEXT NOT NULL,
    site_name     TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, digest)
);
CREATE INDEX duda_lifecycle_calls_created ON duda_lifecycle_calls (created_at);

-- Who ended a Duda checkout early: 'shopper' when the shopper cancelled on the payment page, so
-- that Duda hears FAILED with that reason and its order does not hang.
ALTER TABLE duda_sessions ADD COLUMN cancelled_by TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE duda_sessions DROP COLUMN cancelled_by;
DROP TABLE duda_lifecycle_calls;
ALTER TABLE duda_sites DROP COLUMN gateway_next_attempt_at;
ALTER TABLE duda_sites DROP COLUMN gateway_attempts;
ALTER TABLE duda_sites DROP COLUMN gateway_error;
ALTER TABLE duda_sites DROP COLUMN gateway_state;
