-- +goose Up
-- Reserved: version 0016 belongs to a branch developed in parallel (the clients' migration is
-- 0017, as agreed). This no-op only keeps the numbering gapless on the clients branch alone;
-- delete this file when that branch's 0016 lands (the migration check refuses two 0016s).
SELECT 1;

-- +goose Down
SELECT 1;
