-- +goose Up
-- A Duda payment session and the checkout made for it: what was confirmed back to Duda and the
-- return URL Duda answered with (where the shopper goes after paying).
CREATE TABLE duda_sessions (
    checkout_id              TEXT PRIMARY KEY REFERENCES checkouts (id) ON DELETE CASCADE,
    organization_id          TEXT NOT NULL,
    connection_id            TEXT NOT NULL REFERENCES duda_connections (id) ON DELETE CASCADE,
    duda_site_id             TEXT NOT NULL,
    site_name                TEXT NOT NULL,
    session_id               TEXT NOT NULL,
    purchase_id              TEXT NOT NULL DEFAULT '',
    mode                     TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    confirmed_state          TEXT NOT NULL DEFAULT '',
    confirmed_transaction_id TEXT NULL,
    return_url               TEXT NOT NULL DEFAULT '',
    created_at               TIMESTAMP NOT NULL,
    updated_at               TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX duda_sessions_session_key ON duda_sessions (connection_id, session_id);

-- Refund notifications Duda POSTs to a transaction's refunds link, kept raw and applied once.
CREATE TABLE duda_refunds (
    connection_id   TEXT NOT NULL,
    refund_key      TEXT NOT NULL,
    organization_id TEXT NOT NULL,
    transaction_id  TEXT NOT NULL,
    refund_id       TEXT NULL,
    raw_body        TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('received', 'recorded', 'rejected')),
    error           TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, refund_key)
);

-- +goose Down
DROP TABLE duda_refunds;
DROP TABLE duda_sessions;
