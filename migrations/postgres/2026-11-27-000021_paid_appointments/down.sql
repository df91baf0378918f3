DROP INDEX appointments_holds;
DROP INDEX appointments_invoice;
ALTER TABLE appointments DROP COLUMN hold_until;
ALTER TABLE appointments DROP COLUMN invoice_id;
