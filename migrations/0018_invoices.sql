-- +goose Up
-- Invoices (pkg/invoice). Self-contained: the buyer is a snapshot on the invoice; client_id is
-- a plain nullable reference (no foreign key) to a client row, linked once clients exist.

-- An organisation's invoicing settings: the seller block printed on its invoices, the number
-- layouts of invoices and credit notes (JSON: prefix, year or fiscal year and its start month,
-- reset rule, padding), whether every successful checkout payment is invoiced automatically,
-- and the smallest part of an invoice a payment link may ask for.
CREATE TABLE invoice_settings (
    organization_id      TEXT PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    seller               TEXT NOT NULL DEFAULT '{}',
    invoice_layout       TEXT NOT NULL DEFAULT '{}',
    credit_note_layout   TEXT NOT NULL DEFAULT '{}',
    auto_issue           BOOLEAN NOT NULL DEFAULT FALSE,
    payment_link_minimum BIGINT NOT NULL DEFAULT 100 CHECK (payment_link_minimum >= 1),
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);

-- Gapless number sequences: one row per organisation, mode, document kind and period (the
-- year or fiscal year a yearly reset counts in; '' for never). The issuing transaction bumps
-- last_value with one upsert, which holds the row's lock until it ends: concurrent issues
-- queue behind it, and a rolled-back issue gives its number back.
CREATE TABLE document_sequences (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    kind            TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    period          TEXT NOT NULL,
    last_value      BIGINT NOT NULL CHECK (last_value >= 1),
    PRIMARY KEY (organization_id, mode, kind, period)
);

-- Invoices: drafts (editable, deletable, no number) and issued invoices (locked: the store
-- refuses every change to an issued row). Amounts in minor units; JSON as TEXT.
CREATE TABLE invoices (
    id                    TEXT PRIMARY KEY,
    organization_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    site_id               TEXT NULL,
    mode                  TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    status                TEXT NOT NULL CHECK (status IN ('draft', 'issued')),
    number                TEXT NULL,
    sequence_period       TEXT NOT NULL DEFAULT '',
    sequence_value        BIGINT NULL,
    currency              TEXT NOT NULL,
    language              TEXT NOT NULL,
    client_id             TEXT NULL,
    client                TEXT NOT NULL DEFAULT '{}',
    seller                TEXT NOT NULL DEFAULT '{}',
    lines                 TEXT NOT NULL DEFAULT '[]',
    total_net             BIGINT NOT NULL,
    total_tax             BIGINT NOT NULL,
    total_gross           BIGINT NOT NULL CHECK (total_gross >= 0),
    tax                   TEXT NOT NULL DEFAULT '{}',
    notes                 TEXT NOT NULL DEFAULT '',
    source_transaction_id TEXT NULL,
    source_checkout_id    TEXT NULL,
    due_at                TIMESTAMP NULL,
    issued_at             TIMESTAMP NULL,
    created_by            TEXT NOT NULL DEFAULT '',
    created_at            TIMESTAMP NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    CHECK ((status = 'draft' AND number IS NULL) OR (status = 'issued' AND number IS NOT NULL AND issued_at IS NOT NULL))
);
CREATE UNIQUE INDEX invoices_number_key ON invoices (organization_id, mode, number);
CREATE UNIQUE INDEX invoices_sequence_key ON invoices (organization_id, mode, sequence_period, sequence_value);
CREATE UNIQUE INDEX invoices_source_transaction_key ON invoices (source_transaction_id);
CREATE INDEX invoices_list_idx ON invoices (organization_id, mode, created_at, id);

-- A payment that settles (part of) an invoice: the transaction an automatic invoice was issued
-- for, or the payment of a payment link. One per transaction.
CREATE TABLE invoice_settlements (
    id              TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    invoice_id      TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    transaction_id  TEXT NOT NULL,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    created_at      TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX invoice_settlements_transaction_key ON invoice_settlements (transaction_id);
CREATE INDEX invoice_settlements_invoice_idx ON invoice_settlements (invoice_id);

-- Payment links: a checkout created to pay (part of) an issued invoice.
CREATE TABLE invoice_payment_links (
    checkout_id     TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    invoice_id      TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    amount          BIGINT NOT NULL CHECK (amount > 0),
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX invoice_payment_links_invoice_idx ON invoice_payment_links (invoice_id);

-- +goose Down
DROP TABLE invoice_payment_links;
DROP TABLE invoice_settlements;
DROP TABLE invoices;
DROP TABLE document_sequences;
DROP TABLE invoice_settings;
