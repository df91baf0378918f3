-- The door desk keeps in memory the facts its online decisions read that change seldom: credentials, members'
-- profiles, memberships, open invoices, saved cards, devices and locations. Before each group of checks it reads
-- what changed since the version it holds. Triggers log every change to those tables, so that no code path (a
-- service, a billing run, a second server, an operator's SQL) can forget to: one counter per brand, and the member
-- each version concerned ('' for a change that concerns the whole brand: a device, a location).
CREATE TABLE door_fact_versions (
    tenant_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (tenant_id)
);
CREATE TABLE door_fact_changes (
    tenant_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, version, member_id)
);
SELECT tessera_protect_tenant_table(t, 'SELECT, INSERT, UPDATE, DELETE')
FROM unnest(ARRAY['door_fact_versions', 'door_fact_changes']) AS t;

-- Called at commit (the triggers below are deferred constraint triggers): the counter's row is locked last, when
-- the transaction waits for no other lock, so two transactions cannot deadlock on it; and versions are taken in
-- commit order, so a reader that sees a version sees every version before it. A transaction takes one version per
-- brand (remembered in a transaction-local setting) and logs each member it changed under it. TG_ARGV[0] names
-- the column that holds the member ('' for none). Each column is read by its own statement, which plpgsql prepares
-- only when it runs: a table without that column never does. A row moved to another member logs both.
CREATE FUNCTION tessera_door_fact_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    brand TEXT;
    member TEXT := '';
    previous TEXT := '';
    taken TEXT := current_setting('tessera.door_fact_version', true);
    v BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN
        brand := OLD.tenant_id;
        IF TG_ARGV[0] = 'member_id' THEN
            member := OLD.member_id;
        ELSIF TG_ARGV[0] = 'account_id' THEN
            member := OLD.account_id;
        END IF;
    ELSE
        brand := NEW.tenant_id;
        IF TG_ARGV[0] = 'member_id' THEN
            member := NEW.member_id;
        ELSIF TG_ARGV[0] = 'account_id' THEN
            member := NEW.account_id;
        END IF;
    END IF;
    previous := member;
    IF TG_OP = 'UPDATE' AND TG_ARGV[0] = 'member_id' THEN
        previous := OLD.member_id;
    ELSIF TG_OP = 'UPDATE' AND TG_ARGV[0] = 'account_id' THEN
        previous := OLD.account_id;
    END IF;
    IF taken IS NOT NULL AND split_part(taken, '|', 1) = brand THEN
        v := split_part(taken, '|', 2)::BIGINT;
    ELSE
        INSERT INTO door_fact_versions (tenant_id, version) VALUES (brand, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = door_fact_versions.version + 1
        RETURNING version INTO v;
        PERFORM set_config('tessera.door_fact_version', brand || '|' || v, true);
    END IF;
    INSERT INTO door_fact_changes (tenant_id, version, member_id) VALUES (brand, v, COALESCE(member, ''))
    ON CONFLICT DO NOTHING;
    IF previous IS DISTINCT FROM member THEN
        INSERT INTO door_fact_changes (tenant_id, version, member_id) VALUES (brand, v, COALESCE(previous, ''))
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$$;

-- Credentials, profiles and locations change seldom: every change counts.
CREATE CONSTRAINT TRIGGER door_facts AFTER INSERT OR UPDATE OR DELETE ON access_credentials
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tessera_door_fact_changed('member_id');
CREATE CONSTRAINT TRIGGER door_facts AFTER INSERT OR UPDATE OR DELETE ON member_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tessera_door_fact_changed('account_id');
CREATE CONSTRAINT TRIGGER door_facts AFTER INSERT OR UPDATE OR DELETE ON locations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tessera_door_fact_changed('');
-- Billing updates memberships, invoices and saved cards many times a run (billed-until dates, numbers, attempt
-- counts, reminder dates): only what a decision reads counts (the WHEN conditions, checked before any call).
CREATE CONSTRAINT TRIGGER door_facts AFTER INSERT OR DELETE ON memberships
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tessera_door_fact_changed('account_id');
CREATE CONSTRAINT TRIGGER door_facts_update AFTER UPDATE ON memberships
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.starts_on IS DISTINCT FROM NEW.starts_on
        OR OLD.ends_on IS DISTINCT FROM NEW.ends_on OR OLD.plan_name IS DISTINCT FROM NEW.plan_name
        OR OLD.access_json IS DISTINCT FROM NEW.access_json OR OLD.account_id IS DISTINCT FROM NEW.account_id)
    EXECUTE FUNCTION tessera_door_fact_changed('account_id');
-- Only open invoices of memberships are kept (an unpaid one past its due date warns, then billing moves the
-- membership to past_due): a draft, a paid one or a new attempt count is no change.
CREATE CONSTRAINT TRIGGER door_facts_insert AFTER INSERT ON invoices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.status = 'open')
    EXECUTE FUNCTION tessera_door_fact_changed('account_id');
CREATE CONSTRAINT TRIGGER door_facts_update AFTER UPDATE ON invoices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.status = 'open' OR NEW.status = 'open')
        AND (OLD.status IS DISTINCT FROM NEW.status OR OLD.due_on IS DISTINCT FROM NEW.due_on
            OR OLD.membership_id IS DISTINCT FROM NEW.membership_id OR OLD.account_id IS DISTINCT FROM NEW.account_id))
    EXECUTE FUNCTION tessera_door_fact_changed('account_id');
CREATE CONSTRAINT TRIGGER door_facts_delete AFTER DELETE ON invoices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.status = 'open')
    EXECUTE FUNCTION tessera_door_fact_changed('account_id');
CREATE CONSTRAINT TRIGGER door_facts AFTER INSERT OR DELETE ON billing_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tessera_door_fact_changed('account_id');
CREATE CONSTRAINT TRIGGER door_facts_update AFTER UPDATE ON billing_profiles
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.method_kind IS DISTINCT FROM NEW.method_kind OR OLD.card_exp_month IS DISTINCT FROM NEW.card_exp_month
        OR OLD.card_exp_year IS DISTINCT FROM NEW.card_exp_year OR OLD.account_id IS DISTINCT FROM NEW.account_id)
    EXECUTE FUNCTION tessera_door_fact_changed('account_id');
-- A door's every call records when it was last seen.
CREATE CONSTRAINT TRIGGER door_facts AFTER INSERT OR DELETE ON devices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION tessera_door_fact_changed('');
CREATE CONSTRAINT TRIGGER door_facts_update AFTER UPDATE ON devices
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.name IS DISTINCT FROM NEW.name
        OR OLD.location_id IS DISTINCT FROM NEW.location_id OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.anti_passback IS DISTINCT FROM NEW.anti_passback
        OR OLD.nfc_byte_order IS DISTINCT FROM NEW.nfc_byte_order OR OLD.secret_hash IS DISTINCT FROM NEW.secret_hash)
    EXECUTE FUNCTION tessera_door_fact_changed('');
