-- +goose Up
-- The Admin Panel's overview sums succeeded payments and counts attempts over time windows.
CREATE INDEX transactions_org_succeeded_idx ON transactions (organization_id, succeeded_at) WHERE succeeded_at IS NOT NULL;
CREATE INDEX transactions_org_created_idx ON transactions (organization_id, created_at);

-- +goose Down
DROP INDEX transactions_org_created_idx;
DROP INDEX transactions_org_succeeded_idx;
