ALTER TABLE duda_sessions DROP COLUMN cancelled_by;
DROP TABLE duda_lifecycle_calls;
ALTER TABLE duda_sites DROP COLUMN gateway_next_attempt_at;
ALTER TABLE duda_sites DROP COLUMN gateway_attempts;
ALTER TABLE duda_sites DROP COLUMN gateway_error;
ALTER TABLE duda_sites DROP COLUMN gateway_state;
