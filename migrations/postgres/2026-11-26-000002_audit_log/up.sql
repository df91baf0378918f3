-- The audit log: an append-only record of security-relevant actions, one hash chain per realm (a tenant id, or
-- 'group'). Entries hold ids, never personal data, so that erasing a person does not break a chain.
CREATE TABLE audit_log (
    tenant_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    id TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    request_id TEXT,
    details_json TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE UNIQUE INDEX audit_log_id ON audit_log (tenant_id, id);
CREATE INDEX audit_log_action ON audit_log (tenant_id, action, seq);

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log USING (tenant_id = current_setting('app.tenant_id', true))
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true));
CREATE POLICY system_context ON audit_log TO tessera_system USING (true) WITH CHECK (true);
-- Append-only for the server: no UPDATE or DELETE grant.
GRANT SELECT, INSERT ON audit_log TO tessera_app;
GRANT SELECT, INSERT ON audit_log TO tessera_system;
