-- +goose Up
-- Reserved for another branch's migration (the runner needs contiguous numbers); the merge
-- replaces this file with that migration.
SELECT 1;

-- +goose Down
SELECT 1;
