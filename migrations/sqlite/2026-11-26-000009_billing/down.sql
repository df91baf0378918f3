DROP TABLE stripe_events;
DROP TABLE refunds;
DROP TABLE payments;
DROP TABLE invoice_lines;
DROP TABLE invoices;
DROP TABLE billing_profiles;
DROP TABLE invoice_sequences;
DROP INDEX memberships_billing;
ALTER TABLE memberships DROP COLUMN billed_until;
