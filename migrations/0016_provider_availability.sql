-- Availability rules of a provider configuration (issue 19): the buyer countries, currencies,
-- amounts and modes it is offered in, as one JSON object (domain.Availability); '{}' offers it
-- everywhere, as before. ADD COLUMN with a constant default is the same on PostgreSQL and SQLite.

-- +goose Up
ALTER TABLE providers ADD COLUMN availability TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE providers DROP COLUMN availability;
