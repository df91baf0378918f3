-- Foundation: tenants, group identities, accounts and roles, tokens, signing keys, idempotency keys.
--
-- Two roles own no table: `tessera_app`, which the server runs as (row-level security applies to it), and
-- `tessera_system`, the explicit cross-tenant context (see docs/architecture.md for where it is used).
-- `tessera_app` is NOINHERIT: it is a member of `tessera_system` only to `SET LOCAL ROLE` into it; without
-- that explicit switch it must not get the system role's policies (a policy `TO tessera_system` applies to every
-- role that inherits from it).
-- Roles are cluster-wide while migrations run per database, so several databases of one cluster may be migrated
-- at once: every step checks first and tolerates losing a race to another migrator, then the result is verified.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tessera_app') THEN
        BEGIN
            CREATE ROLE tessera_app NOLOGIN NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tessera_system') THEN
        BEGIN
            CREATE ROLE tessera_system NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tessera_app' AND rolinherit) THEN
        BEGIN
            ALTER ROLE tessera_app NOINHERIT;
        EXCEPTION WHEN internal_error THEN NULL; -- "tuple concurrently updated": another migrator did it
        END;
    END IF;
    IF NOT pg_has_role('tessera_app', 'tessera_system', 'MEMBER') THEN
        BEGIN
            GRANT tessera_system TO tessera_app;
        EXCEPTION WHEN unique_violation OR internal_error THEN NULL;
        END;
    END IF;
    IF NOT pg_has_role('tessera_app', 'tessera_system', 'MEMBER')
        OR EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'tessera_app' AND rolinherit) THEN
        RAISE EXCEPTION 'could not set up the roles tessera_app (NOINHERIT, member of tessera_system) and tessera_system';
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO tessera_app, tessera_system;

CREATE TABLE tenants (
    id TEXT NOT NULL PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    config_json TEXT NOT NULL,
    config_sha256 TEXT NOT NULL,
    revision BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE tenant_domains (
    domain TEXT NOT NULL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);

CREATE TABLE persons (
    id TEXT NOT NULL PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE operators (
    id TEXT NOT NULL PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES persons (id),
    email TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE accounts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id),
    id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES persons (id),
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    password_hash TEXT,
    specialty TEXT,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX accounts_tenant_email ON accounts (tenant_id, email);
CREATE INDEX accounts_person ON accounts (person_id);

CREATE TABLE account_roles (
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, role),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE account_tokens (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX account_tokens_hash ON account_tokens (tenant_id, token_hash);

-- tenant_id is the realm key: a tenant id, or 'group' for operators' tokens.
CREATE TABLE refresh_tokens (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    family_id TEXT NOT NULL,
    subject_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    status TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX refresh_tokens_hash ON refresh_tokens (tenant_id, token_hash);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_subject ON refresh_tokens (tenant_id, subject_id);

CREATE TABLE signing_keys (
    id TEXT NOT NULL PRIMARY KEY,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    activated_at TIMESTAMP,
    retired_at TIMESTAMP
);

CREATE TABLE idempotency_keys (
    tenant_id TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    request_sha256 TEXT NOT NULL,
    status TEXT NOT NULL,
    response_status INTEGER,
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, actor_id, idempotency_key)
);

-- Row-level security: the second wall behind every query's own tenant filter. The policy reads the
-- transaction-local `app.tenant_id` that the store sets at the start of each scoped transaction.
DO $$
DECLARE
    t TEXT;
BEGIN
    FOREACH t IN ARRAY ARRAY['accounts', 'account_roles', 'account_tokens', 'refresh_tokens', 'idempotency_keys']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = current_setting(''app.tenant_id'', true)) '
            'WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', t);
        EXECUTE format('CREATE POLICY system_context ON %I TO tessera_system USING (true) WITH CHECK (true)', t);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO tessera_app', t);
    END LOOP;
END
$$;

-- Group-level tables: the app role reads what request handling needs; writes go through the system context.
GRANT SELECT ON tenants, tenant_domains, operators, signing_keys TO tessera_app;
GRANT SELECT, INSERT ON persons TO tessera_app;
GRANT SELECT ON __diesel_schema_migrations TO tessera_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO tessera_system;
