-- +goose Up
-- Clients (pkg/client): one per organisation, mode and buyer e-mail (compared without case:
-- email_key is the lower-cased address), created or updated by every checkout that names a
-- buyer, and through the Admin API. Test and live clients never meet: a test checkout's buyer
-- is a test client.
CREATE TABLE clients (
    id                TEXT PRIMARY KEY,
    organization_id   TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    mode              TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    email             TEXT NOT NULL,
    email_key         TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    company           TEXT NOT NULL DEFAULT '',
    billing_address   TEXT NULL,
    vat_id            TEXT NOT NULL DEFAULT '',
    vat_id_status     TEXT NOT NULL DEFAULT '' CHECK (vat_id_status IN ('', 'unchecked', 'valid', 'invalid')),
    vat_id_checked_at TIMESTAMP NULL,
    notes             TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX clients_email_key ON clients (organization_id, mode, email_key);
CREATE INDEX clients_list_idx ON clients (organization_id, mode, id);

-- Customer risk holds: at most one active (unreleased) hold per client. Released holds stay as
-- the client's history (the audit log has every change too).
CREATE TABLE client_holds (
    id                     TEXT PRIMARY KEY,
    organization_id        TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    client_id              TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    mode                   TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    action                 TEXT NOT NULL CHECK (action IN ('block', 'allow_provider_types')),
    reason                 TEXT NOT NULL,
    note                   TEXT NOT NULL DEFAULT '',
    allowed_provider_types TEXT NOT NULL DEFAULT '[]',
    allowed_provider_ids   TEXT NOT NULL DEFAULT '[]',
    created_by             TEXT NOT NULL DEFAULT '',
    released_by            TEXT NOT NULL DEFAULT '',
    released_at            TIMESTAMP NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX client_holds_one_active ON client_holds (client_id) WHERE released_at IS NULL;
CREATE INDEX client_holds_client_idx ON client_holds (organization_id, client_id, id);

-- A checkout's client (the merchant's clientId when it names one of ours, else the buyer's
-- e-mail's), and, when a hold restricted it, the hold and the site providers it may offer
-- (a JSON array; NULL: every provider of the site).
ALTER TABLE checkouts ADD COLUMN linked_client_id TEXT NULL;
ALTER TABLE checkouts ADD COLUMN hold_id TEXT NULL;
ALTER TABLE checkouts ADD COLUMN allowed_provider_ids TEXT NULL;
CREATE INDEX checkouts_linked_client_idx ON checkouts (organization_id, linked_client_id);

-- The organisation's setting: no new checkout for a client with an unresolved dispute.
ALTER TABLE organizations ADD COLUMN block_checkouts_on_dispute BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE organizations DROP COLUMN block_checkouts_on_dispute;
DROP INDEX checkouts_linked_client_idx;
ALTER TABLE checkouts DROP COLUMN allowed_provider_ids;
ALTER TABLE checkouts DROP COLUMN hold_id;
ALTER TABLE checkouts DROP COLUMN linked_client_id;
DROP TABLE client_holds;
DROP TABLE clients;
