-- +goose Up
-- The Admin Panel's dashboard aggregates per organisation and mode: succeeded payments by
-- success time, failed ones by failure time, succeeded refunds by the time they succeeded,
-- and what is open now (awaiting the provider, disputed).
CREATE INDEX transactions_report_succeeded_idx ON transactions (organization_id, mode, succeeded_at) WHERE succeeded_at IS NOT NULL;
CREATE INDEX transactions_report_failed_idx ON transactions (organization_id, mode, updated_at) WHERE status = 'failed';
CREATE INDEX transactions_report_open_idx ON transactions (organization_id, mode, status) WHERE status IN ('pending_provider', 'disputed');
CREATE INDEX refunds_report_succeeded_idx ON refunds (organization_id, updated_at) WHERE status = 'succeeded';

-- +goose Down
DROP INDEX refunds_report_succeeded_idx;
DROP INDEX transactions_report_open_idx;
DROP INDEX transactions_report_failed_idx;
DROP INDEX transactions_report_succeeded_idx;
