DROP TABLE duda_refunds;
DROP TABLE duda_sessions;
