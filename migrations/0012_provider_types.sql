-- Provider types are no longer listed by the schema: a provider is one package and one line in
-- the wiring's registry (providers.Registry), and the platform refuses a type that is not
-- registered (PROVIDER_NOT_SUPPORTED). The CHECK on providers.type listed the three built-in
-- types, so a new provider needed a migration.
--
-- This file is PostgreSQL's. SQLite cannot drop a constraint: the store's Go migration for this
-- version (store.providerTypesMigration) removes the CHECK from the table's definition instead,
-- by SQLite's documented procedure for removing CHECK constraints (writable_schema, then a new
-- schema_version and an integrity check).

-- +goose Up
ALTER TABLE providers DROP CONSTRAINT IF EXISTS providers_type_check;

-- +goose Down
ALTER TABLE providers ADD CONSTRAINT providers_type_check CHECK (type IN ('stripe', 'gocardless', 'wire_transfer'));
