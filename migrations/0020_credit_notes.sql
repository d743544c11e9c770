-- +goose Up
-- Credit notes (pkg/invoice): numbered documents that offset (part of) an issued invoice, which
-- itself never changes. One per refund of an invoiced payment (kind refund), one per payment
-- lost to a dispute (kind chargeback), or a direct credit of an invoice's unpaid part (kind
-- credit). Numbered from their own gapless sequence (document_sequences, kind credit_note),
-- allocated in the issuing transaction. Amounts are positive minor units (what the note takes
-- off the invoice); the lines, the tax breakdown and the seller and client blocks are
-- snapshots (JSON as TEXT), frozen at issue.
CREATE TABLE credit_notes (
    id                    TEXT PRIMARY KEY,
    organization_id       TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode                  TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    invoice_id            TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    invoice_number        TEXT NOT NULL,
    number                TEXT NOT NULL,
    sequence_period       TEXT NOT NULL DEFAULT '',
    sequence_value        BIGINT NOT NULL CHECK (sequence_value >= 1),
    kind                  TEXT NOT NULL CHECK (kind IN ('refund', 'chargeback', 'credit')),
    reason                TEXT NOT NULL DEFAULT '',
    currency              TEXT NOT NULL,
    language              TEXT NOT NULL,
    client_id             TEXT NULL,
    client                TEXT NOT NULL DEFAULT '{}',
    seller                TEXT NOT NULL DEFAULT '{}',
    lines                 TEXT NOT NULL DEFAULT '[]',
    total_net             BIGINT NOT NULL,
    total_tax             BIGINT NOT NULL,
    total_gross           BIGINT NOT NULL CHECK (total_gross > 0),
    tax                   TEXT NOT NULL DEFAULT '{}',
    notes                 TEXT NOT NULL DEFAULT '',
    source_refund_id      TEXT NULL,
    source_dispute_id     TEXT NULL,
    source_transaction_id TEXT NULL,
    issued_at             TIMESTAMP NOT NULL,
    created_by            TEXT NOT NULL DEFAULT '',
    created_at            TIMESTAMP NOT NULL,
    CHECK (kind <> 'refund' OR source_refund_id IS NOT NULL),
    CHECK (kind <> 'chargeback' OR (source_dispute_id IS NOT NULL AND source_transaction_id IS NOT NULL))
);
CREATE UNIQUE INDEX credit_notes_number_key ON credit_notes (organization_id, mode, number);
CREATE UNIQUE INDEX credit_notes_sequence_key ON credit_notes (organization_id, mode, sequence_period, sequence_value);
-- Exactly once: one note per refund, one chargeback note per dispute and per payment (a lost
-- dispute is reported by more than one event: the move to disputed, the dispute's closing).
CREATE UNIQUE INDEX credit_notes_source_refund_key ON credit_notes (source_refund_id);
CREATE UNIQUE INDEX credit_notes_source_dispute_key ON credit_notes (organization_id, source_dispute_id);
CREATE UNIQUE INDEX credit_notes_chargeback_transaction_key ON credit_notes (source_transaction_id) WHERE kind = 'chargeback';
CREATE INDEX credit_notes_invoice_idx ON credit_notes (invoice_id);
CREATE INDEX credit_notes_list_idx ON credit_notes (organization_id, mode, id);

-- +goose Down
DROP TABLE credit_notes;
