-- +goose Up
-- Reconciliation asks providers about open attempts in turn: it records when it last looked at
-- each one (without touching updated_at, which stays the time of the last real change) and
-- takes those looked at longest ago first, so attempts that stay open never starve newer ones.
ALTER TABLE transactions ADD COLUMN reconciled_at TIMESTAMP NULL;
CREATE INDEX transactions_reconcile_idx ON transactions (provider_type, reconciled_at) WHERE status IN ('initiated', 'pending_provider');

-- +goose Down
DROP INDEX transactions_reconcile_idx;
ALTER TABLE transactions DROP COLUMN reconciled_at;
