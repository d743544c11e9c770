-- +goose Up
-- Reserved: version 0013 belongs to a branch developed in parallel (the dashboard's migration is
-- 0014, as agreed). This no-op only keeps the numbering gapless on the dashboard branch alone;
-- delete this file when that branch's 0013 lands (the migration check refuses two 0013s).
SELECT 1;

-- +goose Down
SELECT 1;
