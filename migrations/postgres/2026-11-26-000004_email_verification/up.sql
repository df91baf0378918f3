-- When the account proved it receives mail at its address (null until then).
ALTER TABLE accounts ADD COLUMN email_verified_at TIMESTAMP;
