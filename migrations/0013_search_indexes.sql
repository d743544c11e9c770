-- Search and list indexes. This migration is a goose Go migration (pkg/store, migrate.go:
-- dialectMigration): each section below is split at its `-- +dialect` lines, and a part marked
-- `all` runs on both databases, `postgres` or `sqlite` on that one only (pg_trgm is
-- PostgreSQL's, FTS5 SQLite's). The parts of a section run in order, in goose's transaction.
--
-- What the lists ask (pkg/store, ListCheckouts and ListTransactions):
--  * a created-at range is an id range (ids begin with the creation millisecond), on the
--    (organization_id, id) indexes 0001 made: no index here;
--  * the search box's partial, case-insensitive match of the buyer (e-mail, name) and, for
--    checkouts, of the order reference and invoice number, goes to one text per row: a
--    trigram GIN index on PostgreSQL, an FTS5 trigram table on SQLite (kept by triggers). The
--    store spells the same expression (searchText*), and its EXPLAIN test checks the plans;
--  * refunds are listed (exported) by organisation, newest first;
--  * a transaction's provider reference and payment id are looked up within the organisation:
--    the unique indexes lead with provider_id, which a search does not know;
--  * the FTS5 tables are keyed by the tables' rowids, which only a VACUUM renumbers (SQLite
--    renumbers the rowids of tables without an INTEGER PRIMARY KEY): nothing here vacuums, and
--    whoever does must rebuild them (INSERT INTO checkouts_search ... as below);
--  * both databases get fresh statistics (ANALYZE) so their planners know the new indexes;
--    SQLite's are kept up by the store (PRAGMA optimize, store.go), PostgreSQL's by autovacuum.

-- +goose Up
-- +dialect all
CREATE INDEX transactions_org_provider_reference_idx ON transactions (organization_id, provider_reference) WHERE provider_reference IS NOT NULL;
CREATE INDEX transactions_org_provider_payment_idx ON transactions (organization_id, provider_payment_id) WHERE provider_payment_id IS NOT NULL;
-- The refunds export reads an organisation's refunds newest first, an id range for dates.
CREATE INDEX refunds_org_id_idx ON refunds (organization_id, id);
-- +dialect postgres
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX checkouts_search_trgm_idx ON checkouts USING gin ((lower(email || ' ' || external_reference || ' ' || invoice_number || ' ' || COALESCE(billing_address::jsonb ->> 'firstName', '') || ' ' || COALESCE(billing_address::jsonb ->> 'lastName', ''))) gin_trgm_ops);
CREATE INDEX transactions_search_trgm_idx ON transactions USING gin ((lower(COALESCE(billing_details::jsonb ->> 'email', '') || ' ' || COALESCE(billing_details::jsonb ->> 'name', ''))) gin_trgm_ops);
-- +dialect sqlite
CREATE VIRTUAL TABLE checkouts_search USING fts5 (body, tokenize = 'trigram');
INSERT INTO checkouts_search (rowid, body)
    SELECT rowid, email || ' ' || external_reference || ' ' || invoice_number || ' ' || COALESCE(json_extract(billing_address, '$.firstName'), '') || ' ' || COALESCE(json_extract(billing_address, '$.lastName'), '') FROM checkouts;
CREATE TRIGGER checkouts_search_insert AFTER INSERT ON checkouts BEGIN
    INSERT INTO checkouts_search (rowid, body) VALUES (new.rowid, new.email || ' ' || new.external_reference || ' ' || new.invoice_number || ' ' || COALESCE(json_extract(new.billing_address, '$.firstName'), '') || ' ' || COALESCE(json_extract(new.billing_address, '$.lastName'), ''));
END;
CREATE TRIGGER checkouts_search_update AFTER UPDATE OF email, external_reference, invoice_number, billing_address ON checkouts BEGIN
    DELETE FROM checkouts_search WHERE rowid = old.rowid;
    INSERT INTO checkouts_search (rowid, body) VALUES (new.rowid, new.email || ' ' || new.external_reference || ' ' || new.invoice_number || ' ' || COALESCE(json_extract(new.billing_address, '$.firstName'), '') || ' ' || COALESCE(json_extract(new.billing_address, '$.lastName'), ''));
END;
CREATE TRIGGER checkouts_search_delete AFTER DELETE ON checkouts BEGIN
    DELETE FROM checkouts_search WHERE rowid = old.rowid;
END;
CREATE VIRTUAL TABLE transactions_search USING fts5 (body, tokenize = 'trigram');
INSERT INTO transactions_search (rowid, body)
    SELECT rowid, COALESCE(json_extract(billing_details, '$.email'), '') || ' ' || COALESCE(json_extract(billing_details, '$.name'), '') FROM transactions;
CREATE TRIGGER transactions_search_insert AFTER INSERT ON transactions BEGIN
    INSERT INTO transactions_search (rowid, body) VALUES (new.rowid, COALESCE(json_extract(new.billing_details, '$.email'), '') || ' ' || COALESCE(json_extract(new.billing_details, '$.name'), ''));
END;
CREATE TRIGGER transactions_search_update AFTER UPDATE OF billing_details ON transactions BEGIN
    DELETE FROM transactions_search WHERE rowid = old.rowid;
    INSERT INTO transactions_search (rowid, body) VALUES (new.rowid, COALESCE(json_extract(new.billing_details, '$.email'), '') || ' ' || COALESCE(json_extract(new.billing_details, '$.name'), ''));
END;
CREATE TRIGGER transactions_search_delete AFTER DELETE ON transactions BEGIN
    DELETE FROM transactions_search WHERE rowid = old.rowid;
END;
-- +dialect all
ANALYZE;

-- +goose Down
-- +dialect postgres
-- pg_trgm stays: an extension is the database's, and something else may use it.
DROP INDEX transactions_search_trgm_idx;
DROP INDEX checkouts_search_trgm_idx;
-- +dialect sqlite
DROP TRIGGER transactions_search_delete;
DROP TRIGGER transactions_search_update;
DROP TRIGGER transactions_search_insert;
DROP TABLE transactions_search;
DROP TRIGGER checkouts_search_delete;
DROP TRIGGER checkouts_search_update;
DROP TRIGGER checkouts_search_insert;
DROP TABLE checkouts_search;
-- +dialect all
DROP INDEX refunds_org_id_idx;
DROP INDEX transactions_org_provider_payment_idx;
DROP INDEX transactions_org_provider_reference_idx;
