DROP TABLE schedules;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
DROP TABLE events;
DROP SEQUENCE events_seq_numbers;
DROP FUNCTION tessera_protect_tenant_table(TEXT, TEXT);
