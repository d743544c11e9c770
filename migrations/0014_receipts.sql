-- +goose Up
-- Buyers' e-mail receipts (pkg/receipt). A site may turn them off; sites that existed before
-- receipts did keep what their buyers got until then (nothing) until the merchant turns them on,
-- so an upgrade never starts mailing a shop's customers behind the merchant's back: new sites
-- send them (the column's default).
ALTER TABLE sites ADD COLUMN receipts_disabled BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE sites SET receipts_disabled = TRUE;

-- The language of the page the buyer paid on (the hosted page's choice, sent with the start of
-- the payment): the buyer's receipt speaks it. Empty for attempts started before.
ALTER TABLE transactions ADD COLUMN language TEXT NOT NULL DEFAULT '';

-- One row per receipt e-mail: the automatic one a successful payment owes its buyer (at most
-- one per transaction: dedupe_key 'auto:<transaction id>'), and each explicit resend from the
-- panel (dedupe_key its own id). The sending job records the outcome here, so a retried job
-- never sends a receipt that was already sent.
CREATE TABLE receipts (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    site_id         TEXT NOT NULL,
    checkout_id     TEXT NOT NULL,
    transaction_id  TEXT NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
    mode            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    kind            TEXT NOT NULL CHECK (kind IN ('automatic', 'resend')),
    dedupe_key      TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    language        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'uncertain')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    requested_by    TEXT NOT NULL DEFAULT '',
    sent_at         TIMESTAMP NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX receipts_dedupe_key ON receipts (dedupe_key);
CREATE INDEX receipts_transaction_idx ON receipts (organization_id, transaction_id, created_at);

-- +goose Down
DROP TABLE receipts;
ALTER TABLE transactions DROP COLUMN language;
ALTER TABLE sites DROP COLUMN receipts_disabled;
