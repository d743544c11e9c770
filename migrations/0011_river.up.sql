-- Background work moves to River (github.com/riverqueue/river). River's tables come from River's
-- own migrations, which the migrate command applies in this migration's transaction; the queued
-- rows of the jobs table are adopted as River jobs in the same transaction (store.adoptLegacyJobs),
-- then the table goes.
--
-- Merchant notifications are owed by ipn_deliveries alone: a manual resend is a request on the
-- delivery, honoured in the transaction's order by whichever worker holds the transaction next.
ALTER TABLE ipn_deliveries ADD COLUMN resend_requested_at TIMESTAMP NULL;
ALTER TABLE ipn_deliveries ADD COLUMN resend_requested_by TEXT NULL;
-- The notifier's sweep: deliveries owed an attempt (due, or asked for by an operator).
CREATE INDEX ipn_deliveries_work_idx ON ipn_deliveries (next_attempt_at) WHERE status = 'pending' OR resend_requested_at IS NOT NULL;
-- Attempts in flight (a transaction's lock is its unfinished attempt).
CREATE INDEX ipn_attempts_open_idx ON ipn_attempts (transaction_id) WHERE finished_at IS NULL;
DROP TABLE jobs;
