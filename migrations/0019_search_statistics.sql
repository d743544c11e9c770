-- Statistics of the trigrams of the search texts (PostgreSQL only: SQLite's FTS5 tables are
-- its search indexes, see 0013; this is a goose Go migration as 0013 is, split at its
-- `-- +dialect` lines).
--
-- A trigram index finds a LIKE '%term%' by intersecting the lists of rows of every trigram of
-- the term. A trigram that most rows hold (the "exa" of example.com, a shop's common prefix)
-- has a list as long as the table, and reading it is most of the search's time (140 to 500 ms
-- at 700,000 transactions for a part of an e-mail, against 1 ms for its digits alone). The
-- store asks the index only for the term's stretches made of uncommon trigrams and checks the
-- whole term on the rows found (pkg/store, search.go); which trigrams are common it reads from
-- these statistics: ANALYZE (autovacuum's included) gathers the most common elements of each
-- expression, here the trigram array of the search text the index holds (pg_stats_ext_exprs).

-- +goose Up
-- +dialect postgres
CREATE STATISTICS checkouts_search_trgm_stats ON (show_trgm(lower(email || ' ' || external_reference || ' ' || invoice_number || ' ' || COALESCE(billing_address::jsonb ->> 'firstName', '') || ' ' || COALESCE(billing_address::jsonb ->> 'lastName', '')))) FROM checkouts;
CREATE STATISTICS transactions_search_trgm_stats ON (show_trgm(lower(COALESCE(billing_details::jsonb ->> 'email', '') || ' ' || COALESCE(billing_details::jsonb ->> 'name', '')))) FROM transactions;
ANALYZE checkouts;
ANALYZE transactions;

-- +goose Down
-- +dialect postgres
DROP STATISTICS transactions_search_trgm_stats;
DROP STATISTICS checkouts_search_trgm_stats;
