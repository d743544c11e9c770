DROP INDEX transactions_one_success_key;
CREATE UNIQUE INDEX transactions_one_success_key ON transactions (checkout_id) WHERE status IN ('succeeded', 'partially_refunded', 'refunded', 'disputed');
ALTER TABLE transactions DROP COLUMN duplicate;
DROP TABLE refund_locks;
