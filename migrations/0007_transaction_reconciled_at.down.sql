DROP INDEX transactions_reconcile_idx;
ALTER TABLE transactions DROP COLUMN reconciled_at;
