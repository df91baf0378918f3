DROP INDEX invoices_membership;
CREATE INDEX invoices_membership ON invoices (tenant_id, membership_id);
