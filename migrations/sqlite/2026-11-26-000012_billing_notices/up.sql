-- Billing notices already sent (renewal reminders, suspension warnings; docs/billing.md): one per membership, kind
-- and day, so a billing run passing twice the same day does not tell the member twice.
CREATE TABLE billing_notices (
    tenant_id TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    day DATE NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, membership_id, kind, day)
);
