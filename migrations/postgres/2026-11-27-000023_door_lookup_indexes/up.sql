-- A door decision counts the member's entries this week. With `direction` and `decision` in the member's index,
-- every condition of that lookup is an index condition, so the planner prefers it over the reports' indexes (every
-- entry of the brand in the week) even with a plan cached before statistics exist, as when a new brand's doors
-- fill an empty table. The member's other lookups use the same index's first two columns.
DROP INDEX access_events_member;
CREATE INDEX access_events_member ON access_events (tenant_id, member_id, direction, decision, occurred_at);
