ALTER TABLE jobs DROP COLUMN kicked_at;
