DROP INDEX access_events_member;
CREATE INDEX access_events_member ON access_events (tenant_id, member_id, occurred_at);
