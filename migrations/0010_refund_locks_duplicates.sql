-- +goose Up
-- Refunds of one payment reach the provider one at a time: a refund call holds its payment's
-- lease (claimed with compare-and-set, renewed while the call lasts, taken over once expired),
-- so the running total sent with each call (GoCardless's total_amount_confirmation) is the
-- provider's own. No database transaction stays open across the call.
CREATE TABLE refund_locks (
    transaction_id TEXT PRIMARY KEY REFERENCES transactions (id) ON DELETE CASCADE,
    token          TEXT NOT NULL,
    expires_at     TIMESTAMP NOT NULL
);

-- A second attempt of a checkout that also took the money is a paid duplicate: it holds money
-- (refundable) without being the checkout's payment, so one success per checkout counts only
-- attempts that are not duplicates.
ALTER TABLE transactions ADD COLUMN duplicate BOOLEAN NOT NULL DEFAULT FALSE;
DROP INDEX transactions_one_success_key;
CREATE UNIQUE INDEX transactions_one_success_key ON transactions (checkout_id) WHERE status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed') AND duplicate = FALSE;

-- +goose Down
DROP INDEX transactions_one_success_key;
CREATE UNIQUE INDEX transactions_one_success_key ON transactions (checkout_id) WHERE status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed');
ALTER TABLE transactions DROP COLUMN duplicate;
DROP TABLE refund_locks;
