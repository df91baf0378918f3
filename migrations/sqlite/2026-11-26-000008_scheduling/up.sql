-- Scheduling (see migrations/postgres for the policies; SQLite has none).
CREATE TABLE locations (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT,
    time_zone TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE rooms (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    name TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX rooms_location ON rooms (tenant_id, location_id);

CREATE TABLE services (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    duration_minutes INTEGER NOT NULL,
    buffer_before_minutes INTEGER NOT NULL,
    buffer_after_minutes INTEGER NOT NULL,
    price_amount BIGINT NOT NULL,
    price_currency TEXT NOT NULL,
    pro_ids_json TEXT NOT NULL,
    mode TEXT NOT NULL,
    room_id TEXT,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE pro_hours (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    pro_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    weekday INTEGER NOT NULL,
    start_minute INTEGER NOT NULL,
    end_minute INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX pro_hours_pro ON pro_hours (tenant_id, pro_id);

CREATE TABLE pro_exceptions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    pro_id TEXT NOT NULL,
    from_date TEXT NOT NULL,
    until_date TEXT NOT NULL,
    reason TEXT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX pro_exceptions_pro ON pro_exceptions (tenant_id, pro_id);

-- Appointments: `block_start`/`block_end` include the service's buffers; overlap checks use them.
CREATE TABLE appointments (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    pro_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    location_id TEXT,
    room_id TEXT,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    block_start TIMESTAMP NOT NULL,
    block_end TIMESTAMP NOT NULL,
    status TEXT NOT NULL,
    price_amount BIGINT NOT NULL,
    price_currency TEXT NOT NULL,
    membership_id TEXT,
    fee_amount BIGINT,
    fee_currency TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    attendance_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX appointments_pro ON appointments (tenant_id, pro_id, block_start);
CREATE INDEX appointments_member ON appointments (tenant_id, member_id, starts_at);
CREATE INDEX appointments_room ON appointments (tenant_id, room_id, block_start);

CREATE TABLE class_schedules (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    class_type TEXT NOT NULL,
    pro_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    weekday INTEGER NOT NULL,
    start_minute INTEGER NOT NULL,
    duration_minutes INTEGER NOT NULL,
    valid_from TEXT NOT NULL,
    valid_until TEXT,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- `next_seq` numbers bookings in the order they took the session's lock (waitlist positions).
CREATE TABLE class_sessions (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    class_type TEXT NOT NULL,
    pro_id TEXT NOT NULL,
    location_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    capacity INTEGER NOT NULL,
    next_seq BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
-- Generation is idempotent: one session per schedule and start.
CREATE UNIQUE INDEX class_sessions_schedule_start ON class_sessions (tenant_id, schedule_id, starts_at);
CREATE INDEX class_sessions_start ON class_sessions (tenant_id, starts_at);

CREATE TABLE class_bookings (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    member_id TEXT NOT NULL,
    status TEXT NOT NULL,
    seq BIGINT NOT NULL,
    membership_id TEXT,
    consumed BOOLEAN NOT NULL,
    price_amount BIGINT NOT NULL,
    price_currency TEXT NOT NULL,
    fee_amount BIGINT,
    fee_currency TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    cancelled_at TIMESTAMP,
    checked_in_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX class_bookings_seq ON class_bookings (tenant_id, session_id, seq);
CREATE INDEX class_bookings_member ON class_bookings (tenant_id, member_id);

-- One calendar feed per account; re-issuing replaces the hash, which revokes the old URL.
CREATE TABLE calendar_feeds (
    tenant_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, account_id)
);
CREATE UNIQUE INDEX calendar_feeds_token ON calendar_feeds (tenant_id, token_hash);

CREATE TABLE clock_entries (
    tenant_id TEXT NOT NULL,
    id TEXT NOT NULL,
    pro_id TEXT NOT NULL,
    clock_in_at TIMESTAMP NOT NULL,
    clock_out_at TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX clock_entries_pro ON clock_entries (tenant_id, pro_id, clock_in_at);
