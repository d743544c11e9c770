ALTER TABLE ipn_deliveries DROP COLUMN allow_private;
ALTER TABLE checkouts DROP COLUMN ipn_allow_private;
