-- Reports read by time range: door decisions, documents by issue date, payments by settlement.
CREATE INDEX access_events_time ON access_events (tenant_id, occurred_at);
CREATE INDEX invoices_issued ON invoices (tenant_id, issued_on);
CREATE INDEX payments_settled ON payments (tenant_id, status, settled_at);
