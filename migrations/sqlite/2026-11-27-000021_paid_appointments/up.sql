-- Appointments paid online when booked: the invoice that pays for one, and until when an unpaid booking holds its
-- slot (`pending_payment`); after that it is `expired` and the slot is free again.
ALTER TABLE appointments ADD COLUMN invoice_id TEXT;
ALTER TABLE appointments ADD COLUMN hold_until TIMESTAMP;
CREATE INDEX appointments_invoice ON appointments (tenant_id, invoice_id);
CREATE INDEX appointments_holds ON appointments (tenant_id, status, hold_until);
