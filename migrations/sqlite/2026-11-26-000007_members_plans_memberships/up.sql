-- Gym core, part one (see migrations/postgres for the policies; SQLite has none).
CREATE TABLE member_profiles (
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    given_name TEXT NOT NULL,
    family_name TEXT NOT NULL,
    phone TEXT,
    birth_date DATE,
    address_json TEXT,
    emergency_contact_json TEXT,
    photo_file_id TEXT,
    locale TEXT NOT NULL,
    card_number TEXT NOT NULL,
    member_status TEXT NOT NULL,
    guardian_account_id TEXT,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, account_id),
    FOREIGN KEY (tenant_id, account_id) REFERENCES accounts (tenant_id, id) ON DELETE CASCADE
);
-- A card number identifies one member of a brand (desk look-up, door readers).
CREATE UNIQUE INDEX member_profiles_card ON member_profiles (tenant_id, card_number);
CREATE INDEX member_profiles_guardian ON member_profiles (tenant_id, guardian_account_id);
CREATE INDEX member_profiles_created ON member_profiles (tenant_id, created_at);

-- Consents are kept as a history: each change is a new row with its time and the version of the text shown.
CREATE TABLE member_consents (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    granted BOOLEAN NOT NULL,
    text_version TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    recorded_by TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX member_consents_account ON member_consents (tenant_id, account_id, kind, recorded_at);

CREATE TABLE member_notes (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    author_account_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX member_notes_account ON member_notes (tenant_id, account_id, created_at);

CREATE TABLE member_tags (
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (tenant_id, account_id, tag)
);
CREATE INDEX member_tags_tag ON member_tags (tenant_id, tag);

-- Folded search terms (docs/gym.md): prefix searches are range scans of the primary key.
CREATE TABLE member_search_terms (
    tenant_id TEXT NOT NULL,
    term TEXT NOT NULL,
    account_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, term, account_id)
);
CREATE INDEX member_search_terms_account ON member_search_terms (tenant_id, account_id, term);

CREATE TABLE plans (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    code TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    translations_json TEXT NOT NULL,
    kind TEXT NOT NULL,
    price_amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    billing_period TEXT,
    term_months INTEGER,
    sessions INTEGER,
    commitment_months INTEGER NOT NULL,
    notice_days INTEGER NOT NULL,
    enrolment_fee_amount BIGINT NOT NULL,
    trial_days INTEGER NOT NULL,
    freeze_max_days_per_year INTEGER NOT NULL,
    access_json TEXT NOT NULL,
    visibility TEXT NOT NULL,
    available_from DATE,
    available_until DATE,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX plans_code ON plans (tenant_id, code);

-- A membership copies the plan's terms when it is sold: later plan edits never change a signed contract.
CREATE TABLE memberships (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    plan_id TEXT NOT NULL,
    status TEXT NOT NULL,
    plan_name TEXT NOT NULL,
    kind TEXT NOT NULL,
    price_amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    billing_period TEXT,
    term_months INTEGER,
    commitment_months INTEGER NOT NULL,
    notice_days INTEGER NOT NULL,
    enrolment_fee_amount BIGINT NOT NULL,
    trial_days INTEGER NOT NULL,
    freeze_max_days_per_year INTEGER NOT NULL,
    access_json TEXT NOT NULL,
    sessions_total INTEGER,
    sessions_used INTEGER NOT NULL,
    starts_on DATE NOT NULL,
    commitment_until DATE NOT NULL,
    ends_on DATE,
    sold_online BOOLEAN NOT NULL,
    concluded_at TIMESTAMP NOT NULL,
    withdrawal_until DATE,
    cancel_requested_at TIMESTAMP,
    cancel_reason TEXT,
    next_plan_id TEXT,
    next_plan_on DATE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, plan_id) REFERENCES plans (tenant_id, id)
);
CREATE INDEX memberships_account ON memberships (tenant_id, account_id);
CREATE INDEX memberships_status ON memberships (tenant_id, status);
-- A class pack can never hand out more sessions than it holds, whatever runs concurrently.
-- (SQLite cannot add a constraint later: the check is the trigger below.)
CREATE TRIGGER memberships_pack_sessions BEFORE UPDATE OF sessions_used ON memberships
WHEN NEW.sessions_total IS NOT NULL AND NEW.sessions_used > NEW.sessions_total
BEGIN SELECT RAISE(ABORT, 'memberships_pack_sessions'); END;

CREATE TABLE membership_freezes (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    starts_on DATE NOT NULL,
    ends_on DATE NOT NULL,
    reason TEXT,
    created_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX membership_freezes_membership ON membership_freezes (tenant_id, membership_id, starts_on);

-- Every change of a membership, kept for good (the contract's history).
CREATE TABLE membership_history (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    membership_id TEXT NOT NULL,
    action TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    actor_id TEXT,
    at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX membership_history_membership ON membership_history (tenant_id, membership_id, at);
