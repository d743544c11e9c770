-- +goose Up
-- Signing out ends every session of the user: session tokens carry the version they were issued
-- at, and a token whose version is behind the user's is refused.
ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE users DROP COLUMN session_version;
