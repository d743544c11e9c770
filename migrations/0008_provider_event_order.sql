-- +goose Up
-- Provider events are applied in the provider's own order: each stored event keeps the object it
-- reports on (a Stripe PaymentIntent, a GoCardless payment) and the provider's creation time,
-- and each transaction the provider time of the last report applied to it, so that a stale
-- report never overrides a newer state (see domain.Decide). Existing rows have no times: the
-- first report after the upgrade is compared with nothing.
ALTER TABLE transactions ADD COLUMN provider_event_at TIMESTAMP NULL;
ALTER TABLE provider_events ADD COLUMN object_id TEXT NOT NULL DEFAULT '';
ALTER TABLE provider_events ADD COLUMN occurred_at TIMESTAMP NULL;
CREATE INDEX provider_events_object_idx ON provider_events (provider_id, object_id, occurred_at);

-- +goose Down
DROP INDEX provider_events_object_idx;
ALTER TABLE provider_events DROP COLUMN occurred_at;
ALTER TABLE provider_events DROP COLUMN object_id;
ALTER TABLE transactions DROP COLUMN provider_event_at;
