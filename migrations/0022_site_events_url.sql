-- +goose Up
-- A site's events URL: where the site's invoice events (invoice.issued, invoice.paid,
-- credit_note.issued) are delivered as signed JSON, apart from the checkouts' ipnUrls (which
-- the shop plugins read as order notifications). NULL: no events are delivered.
-- events_allow_private is the SSRF policy the URL was accepted under (IPN_ALLOW_PRIVATE_TARGETS
-- when it was set), copied to each delivery as a checkout's ipn_allow_private is (0005).
ALTER TABLE sites ADD COLUMN events_url TEXT NULL;
ALTER TABLE sites ADD COLUMN events_allow_private BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE sites DROP COLUMN events_allow_private;
ALTER TABLE sites DROP COLUMN events_url;
