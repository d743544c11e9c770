DROP INDEX provider_events_object_idx;
ALTER TABLE provider_events DROP COLUMN occurred_at;
ALTER TABLE provider_events DROP COLUMN object_id;
ALTER TABLE transactions DROP COLUMN provider_event_at;
