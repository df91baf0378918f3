-- Live events (outbox), outgoing webhooks and recurring schedules.
-- The outbox of events: written in the transaction of the change that causes them, read by the live-event
-- feeders of every process and by webhook deliveries. `seq` orders them across realms for the feeders that poll.
CREATE TABLE events (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    subject_account_id TEXT,
    data_json TEXT NOT NULL,
    request_id TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- Cross-realm, for the feeders (system context); the one index not led by tenant_id.
CREATE UNIQUE INDEX events_seq ON events (seq);
CREATE INDEX events_subject ON events (tenant_id, subject_account_id);
CREATE INDEX events_created ON events (tenant_id, created_at);

-- A brand's own receivers of events.
CREATE TABLE webhook_endpoints (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    description TEXT,
    event_types_json TEXT NOT NULL,
    secret_sealed TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);

-- One event to one endpoint; its attempts are in webhook_attempts.
CREATE TABLE webhook_deliveries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_status_code INTEGER,
    last_error TEXT,
    next_attempt_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    delivered_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (tenant_id, endpoint_id, created_at);

CREATE TABLE webhook_attempts (
    tenant_id TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error TEXT,
    PRIMARY KEY (tenant_id, delivery_id, attempt)
);

-- Recurring jobs per realm, in the realm's time zone. The scheduler queues each due run once (the job's unique
-- key names the schedule and the instant) and moves next_run_at on.
CREATE TABLE schedules (
    tenant_id TEXT NOT NULL,
    name TEXT NOT NULL,
    cron TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    job_kind TEXT NOT NULL,
    payload_json TEXT NOT NULL,
    next_run_at TIMESTAMP NOT NULL,
    last_run_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, name)
);
CREATE INDEX schedules_due ON schedules (next_run_at);
-- The events' order across realms on PostgreSQL (SQLite takes max + 1 under its write lock).
CREATE SEQUENCE events_seq_numbers;
GRANT USAGE ON SEQUENCE events_seq_numbers TO tessera_app, tessera_system;

-- Row-level security and grants of a tenant-owned table, in one call for this and later migrations:
-- `tenant_isolation` on app.tenant_id, `system_context` for tessera_system, the app role's privileges.
CREATE FUNCTION tessera_protect_tenant_table(t TEXT, app_privileges TEXT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format(
        'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''app.tenant_id'', true)) '
        'WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
    EXECUTE format('CREATE POLICY system_context ON %I TO tessera_system USING (true) WITH CHECK (true)', t);
    EXECUTE format('GRANT %s ON %I TO tessera_app', app_privileges, t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO tessera_system', t);
END
$$;

SELECT tessera_protect_tenant_table(t, 'SELECT, INSERT, UPDATE, DELETE')
FROM unnest(ARRAY['events', 'webhook_endpoints', 'webhook_deliveries', 'webhook_attempts', 'schedules']) AS t;
