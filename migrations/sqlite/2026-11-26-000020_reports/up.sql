-- Reports read by time range. Door decisions are the big table (millions of rows): two covering indexes let the
-- reports group them without reading the table, one in time order (hourly buckets), one in the order of the
-- check-in report's groups (location, result), so that no large sort is needed either.
CREATE INDEX access_events_hourly ON access_events (tenant_id, occurred_at, direction, decision);
CREATE INDEX access_events_results ON access_events (tenant_id, direction, location_id, decision, reason, occurred_at, flagged, override_of);
CREATE INDEX invoices_issued ON invoices (tenant_id, issued_on);
CREATE INDEX payments_settled ON payments (tenant_id, status, settled_at);
