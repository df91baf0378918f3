-- A membership's open invoices are looked up on every payment. With `status` in the index, the planner prefers it
-- over `invoices_status` (every open invoice of the brand) even before statistics exist, as when a first billing
-- run fills an empty table.
DROP INDEX invoices_membership;
CREATE INDEX invoices_membership ON invoices (tenant_id, membership_id, status);
