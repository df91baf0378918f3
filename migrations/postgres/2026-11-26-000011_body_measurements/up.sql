-- Body-composition measurements (docs/devices.md). Health data: the values are sealed under the brand's data key
-- (`sealed`, AES-256-GCM, bound to the tenant and the row id); only what is needed to list and match is in clear.
-- A measurement that matched no member waits here (member_id NULL, status 'unmatched') for staff.
CREATE TABLE body_measurements (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    member_id TEXT,
    status TEXT NOT NULL,
    source TEXT NOT NULL,
    format TEXT NOT NULL,
    device_id TEXT,
    uploaded_by TEXT,
    member_hint TEXT,
    measured_at TIMESTAMP NOT NULL,
    data_key_id TEXT NOT NULL,
    sealed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    matched_at TIMESTAMP,
    matched_by TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX body_measurements_member ON body_measurements (tenant_id, member_id, measured_at);
CREATE INDEX body_measurements_status ON body_measurements (tenant_id, status, created_at);

-- Goals set by a pro: a metric of the canonical measurement and its target, in thousandths.
CREATE TABLE body_goals (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    metric TEXT NOT NULL,
    target_milli BIGINT NOT NULL,
    due_on DATE,
    set_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX body_goals_metric ON body_goals (tenant_id, member_id, metric);

SELECT tessera_protect_tenant_table(t, 'SELECT, INSERT, UPDATE, DELETE')
FROM unnest(ARRAY['body_measurements', 'body_goals']) AS t;
