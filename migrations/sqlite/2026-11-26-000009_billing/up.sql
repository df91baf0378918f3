-- Billing: invoices and credit notes with gap-free numbering, payments and refunds, saved payment methods,
-- processed Stripe events.
ALTER TABLE memberships ADD COLUMN billed_until DATE;
CREATE INDEX memberships_billing ON memberships (tenant_id, status, billed_until);

-- One row per numbering series (prefix, kind, year): the last number handed out. Finalising takes the row's
-- lock, so numbers follow the order of finalisation and a rolled-back finalisation gives its number back.
CREATE TABLE invoice_sequences (
    tenant_id TEXT NOT NULL,
    series TEXT NOT NULL,
    last_value BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, series)
);

-- A client's billing details with the brand: provider customer, saved payment method, company buyer.
CREATE TABLE billing_profiles (
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    customer_ref TEXT,
    payment_method_ref TEXT,
    method_kind TEXT,
    card_brand TEXT,
    card_last4 TEXT,
    card_exp_month INTEGER,
    card_exp_year INTEGER,
    expiry_notified_on DATE,
    company_json TEXT,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);
CREATE UNIQUE INDEX billing_profiles_customer ON billing_profiles (tenant_id, customer_ref);

CREATE TABLE invoices (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    number TEXT,
    series TEXT,
    sequence_no BIGINT,
    account_id TEXT NOT NULL,
    payer_account_id TEXT NOT NULL,
    buyer_json TEXT NOT NULL,
    membership_id TEXT,
    billing_key TEXT,
    corrects_invoice_id TEXT,
    currency TEXT NOT NULL,
    total_excl BIGINT NOT NULL,
    total_vat BIGINT NOT NULL,
    total_incl BIGINT NOT NULL,
    amount_paid BIGINT NOT NULL,
    amount_credited BIGINT NOT NULL,
    locale TEXT NOT NULL,
    issued_on DATE,
    due_on DATE,
    period_start DATE,
    period_end DATE,
    pdf_file_id TEXT,
    dunning_started_on DATE,
    attempts INTEGER NOT NULL,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    finalised_at TIMESTAMP,
    paid_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (total_excl >= 0 AND total_vat >= 0 AND total_incl = total_excl + total_vat),
    CHECK (amount_paid >= 0 AND amount_paid <= total_incl),
    CHECK (amount_credited >= 0 AND amount_credited <= total_incl),
    CHECK ((number IS NULL) = (status = 'draft'))
);
CREATE UNIQUE INDEX invoices_number ON invoices (tenant_id, number);
CREATE UNIQUE INDEX invoices_sequence ON invoices (tenant_id, series, sequence_no);
CREATE UNIQUE INDEX invoices_billing_key ON invoices (tenant_id, billing_key);
CREATE INDEX invoices_account ON invoices (tenant_id, account_id, created_at);
CREATE INDEX invoices_status ON invoices (tenant_id, status, due_on);
CREATE INDEX invoices_membership ON invoices (tenant_id, membership_id);

CREATE TABLE invoice_lines (
    tenant_id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    item TEXT NOT NULL,
    description TEXT NOT NULL,
    goods BOOLEAN NOT NULL,
    quantity BIGINT NOT NULL,
    unit_price BIGINT NOT NULL,
    vat_code TEXT NOT NULL,
    vat_rate_bps BIGINT NOT NULL,
    exemption_note TEXT,
    net_amount BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id, position),
    CHECK (quantity > 0 AND unit_price >= 0 AND net_amount = quantity * unit_price)
);

CREATE TABLE payments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL,
    provider_ref TEXT,
    client_secret TEXT,
    failure_code TEXT,
    failure_message TEXT,
    refunded_amount BIGINT NOT NULL,
    recorded_by TEXT,
    note TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    settled_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    CHECK (amount > 0 AND refunded_amount >= 0 AND refunded_amount <= amount)
);
CREATE UNIQUE INDEX payments_idempotency ON payments (tenant_id, idempotency_key);
CREATE UNIQUE INDEX payments_provider_ref ON payments (tenant_id, provider_ref);
-- At most one attempt in flight per invoice: a second concurrent charge cannot even be recorded.
CREATE UNIQUE INDEX payments_one_in_flight ON payments (tenant_id, invoice_id)
    WHERE status IN ('pending', 'unknown', 'processing', 'requires_action');
CREATE INDEX payments_invoice ON payments (tenant_id, invoice_id);
CREATE INDEX payments_created ON payments (tenant_id, created_at);

CREATE TABLE refunds (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    credit_note_id TEXT,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_ref TEXT,
    reason TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    CHECK (amount > 0)
);
CREATE INDEX refunds_payment ON refunds (tenant_id, payment_id);

-- Each Stripe event is processed once: its id is inserted in the transaction that applies it.
CREATE TABLE stripe_events (
    tenant_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, event_id)
);

-- A finalised invoice or credit note is never edited nor deleted, whatever the code does.
CREATE TRIGGER invoices_finalised_update BEFORE UPDATE ON invoices
WHEN OLD.number IS NOT NULL AND (NEW.number IS NOT OLD.number OR NEW.total_incl <> OLD.total_incl
    OR NEW.total_excl <> OLD.total_excl OR NEW.total_vat <> OLD.total_vat OR NEW.buyer_json <> OLD.buyer_json
    OR NEW.currency <> OLD.currency OR NEW.issued_on IS NOT OLD.issued_on OR NEW.account_id <> OLD.account_id
    OR NEW.kind <> OLD.kind)
BEGIN SELECT RAISE(ABORT, 'invoice_finalised'); END;
CREATE TRIGGER invoices_finalised_delete BEFORE DELETE ON invoices WHEN OLD.number IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'invoice_finalised'); END;
CREATE TRIGGER invoice_lines_insert BEFORE INSERT ON invoice_lines
WHEN (SELECT number FROM invoices WHERE tenant_id = NEW.tenant_id AND id = NEW.invoice_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'invoice_finalised'); END;
CREATE TRIGGER invoice_lines_update BEFORE UPDATE ON invoice_lines
WHEN (SELECT number FROM invoices WHERE tenant_id = OLD.tenant_id AND id = OLD.invoice_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'invoice_finalised'); END;
CREATE TRIGGER invoice_lines_delete BEFORE DELETE ON invoice_lines
WHEN (SELECT number FROM invoices WHERE tenant_id = OLD.tenant_id AND id = OLD.invoice_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'invoice_finalised'); END;
