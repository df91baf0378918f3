-- A door check is written with every index of `access_events`, and on SQLite every index page a commit touches is
-- one more 4 KiB page in the write-ahead log (at 2,000 door checks a second, about a thousand commits). Two of those
-- indexes cover rows that online checks never are: those with an offline upload's event id, and those flagged for
-- staff. Indexing only those rows keeps the uniqueness of an upload's event ids and the staff's newest-first list of
-- flagged entries, and online checks no longer touch either index.
DROP INDEX access_events_client;
CREATE UNIQUE INDEX access_events_client ON access_events (tenant_id, device_id, client_event_id)
    WHERE client_event_id IS NOT NULL;
DROP INDEX access_events_flagged;
CREATE INDEX access_events_flagged ON access_events (tenant_id, id) WHERE flagged;
