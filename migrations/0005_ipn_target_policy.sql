-- +goose Up
-- The SSRF policy an ipnUrl was accepted under (IPN_ALLOW_PRIVATE_TARGETS at checkout creation),
-- copied to each delivery: the notifier sends to a loopback, private or other internal address
-- only if both the recorded policy and its current setting allow it. Existing rows were never
-- recorded as allowed, so they get the safe default (not allowed).
ALTER TABLE checkouts ADD COLUMN ipn_allow_private BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE ipn_deliveries ADD COLUMN allow_private BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE ipn_deliveries DROP COLUMN allow_private;
ALTER TABLE checkouts DROP COLUMN ipn_allow_private;
