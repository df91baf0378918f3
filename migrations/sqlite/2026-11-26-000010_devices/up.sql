-- Devices and door access control (docs/devices.md). SQLite has no policies; see migrations/postgres.
-- Paired devices: kiosks, doors (readers, turnstiles, controllers) and body analysers. A device holds a secret
-- of its own (only its SHA-256 is stored), given once at pairing.
CREATE TABLE devices (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    location_id TEXT,
    status TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    anti_passback BOOLEAN NOT NULL,
    nfc_byte_order TEXT NOT NULL,
    firmware TEXT,
    app_version TEXT,
    last_seen_at TIMESTAMP,
    config_version BIGINT NOT NULL,
    paired_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- A pairing code is exchanged once, before it expires, for a device's credential.
CREATE TABLE device_pairings (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    location_id TEXT,
    anti_passback BOOLEAN NOT NULL,
    nfc_byte_order TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    device_id TEXT,
    created_by TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX device_pairings_code ON device_pairings (tenant_id, code_hash);

-- Members' door credentials: printed cards (barcode and QR carry the same number), NFC card UIDs (hex, most
-- significant byte first) and the public keys of the mobile app's rotating QR codes.
CREATE TABLE access_credentials (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    status TEXT NOT NULL,
    label TEXT,
    replaced_by TEXT,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
-- One live credential per value: a card number or a UID opens the door for one member only.
CREATE UNIQUE INDEX access_credentials_value ON access_credentials (tenant_id, kind, value) WHERE status = 'active';
CREATE INDEX access_credentials_lookup ON access_credentials (tenant_id, kind, value);
CREATE INDEX access_credentials_member ON access_credentials (tenant_id, member_id);

-- Every door decision: check-ins, refused attempts, offline entries uploaded later, staff overrides.
CREATE TABLE access_events (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    device_id TEXT,
    location_id TEXT,
    member_id TEXT,
    credential_id TEXT,
    credential_kind TEXT NOT NULL,
    direction TEXT NOT NULL,
    decision TEXT NOT NULL,
    reason TEXT,
    source TEXT NOT NULL,
    client_event_id TEXT,
    flagged BOOLEAN NOT NULL,
    flag_reason TEXT,
    override_of TEXT,
    override_by TEXT,
    override_reason TEXT,
    occurred_at TIMESTAMP NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- An offline batch uploaded twice adds nothing: a door's event ids are unique.
CREATE UNIQUE INDEX access_events_client ON access_events (tenant_id, device_id, client_event_id);
CREATE INDEX access_events_member ON access_events (tenant_id, member_id, occurred_at);
CREATE INDEX access_events_location ON access_events (tenant_id, location_id, occurred_at);
CREATE INDEX access_events_flagged ON access_events (tenant_id, flagged, occurred_at);

-- Who is inside each location: one row per member and location, so that a second entry without an exit
-- (anti-passback) is refused by the primary key even under concurrency.
CREATE TABLE access_presence (
    tenant_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    entered_at TIMESTAMP NOT NULL,
    device_id TEXT,
    PRIMARY KEY (tenant_id, location_id, member_id)
);

-- Rotating QR codes already used: a code is accepted once.
CREATE TABLE access_qr_uses (
    tenant_id TEXT NOT NULL,
    credential_id TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    device_id TEXT,
    used_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, credential_id, issued_at)
);

-- The door allowlist's version: one counter per brand, bumped in the transaction of every change that moves a
-- member's access (a membership change, a credential issued or revoked), with the member it concerned, so that a
-- door asks for the changes since the version it holds.
CREATE TABLE access_versions (
    tenant_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);
CREATE TABLE access_changes (
    tenant_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    member_id TEXT NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
