-- Stored files (object storage metadata) and each tenant's data keys, wrapped with the master key, that encrypt
-- sensitive files (envelope encryption; see docs/storage.md).
CREATE TABLE tenant_data_keys (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    wrapped_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- One key per generation and tenant: two requests creating a tenant's first key at once cannot both win.
CREATE UNIQUE INDEX tenant_data_keys_generation ON tenant_data_keys (tenant_id, generation);

CREATE TABLE files (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    owner_account_id TEXT,
    content_type TEXT NOT NULL,
    size_bytes BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    sensitive BOOLEAN NOT NULL,
    storage_key TEXT NOT NULL,
    data_key_id TEXT,
    chunk_size INTEGER,
    original_filename TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX files_owner ON files (tenant_id, owner_account_id);

SELECT tessera_protect_tenant_table(t, 'SELECT, INSERT, UPDATE')
FROM unnest(ARRAY['tenant_data_keys', 'files']) AS t;
