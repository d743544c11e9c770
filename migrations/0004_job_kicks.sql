-- +goose Up
-- A kick that reaches a running job (its successor's turn came while it was deciding to wait) is
-- kept here and honoured when that run ends by snoozing, instead of being lost.
ALTER TABLE jobs ADD COLUMN kicked_at TIMESTAMP NULL;

-- +goose Down
ALTER TABLE jobs DROP COLUMN kicked_at;
