DROP INDEX access_events_flagged;
CREATE INDEX access_events_flagged ON access_events (tenant_id, flagged, occurred_at);
DROP INDEX access_events_client;
CREATE UNIQUE INDEX access_events_client ON access_events (tenant_id, device_id, client_event_id);
