-- The door desk keeps in memory the facts its online decisions read that change seldom: credentials, members'
-- profiles, memberships, open invoices, saved cards, devices and locations. Before each group of checks it reads
-- what changed since the version it holds. Triggers log every change to those tables, so that no code path (a
-- service, a billing run, a second process, an operator's SQL) can forget to: one counter per brand, and the member
-- each version concerned ('' for a change that concerns the whole brand: a device, a location). SQLite writes one
-- transaction at a time, so versions are taken in commit order; each changed row takes its own. (No conflict
-- clause in the triggers: the statement that fires one would impose its own, an upsert's included.) A row moved
-- to another member logs both.
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

CREATE TRIGGER access_credentials_door_facts_insert AFTER INSERT ON access_credentials
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.member_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER access_credentials_door_facts_update AFTER UPDATE ON access_credentials
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.member_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.member_id FROM door_fact_versions
        WHERE tenant_id = NEW.tenant_id AND OLD.member_id IS NOT NEW.member_id;
END;
CREATE TRIGGER access_credentials_door_facts_delete AFTER DELETE ON access_credentials
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT OLD.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = OLD.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.member_id FROM door_fact_versions WHERE tenant_id = OLD.tenant_id;
END;
CREATE TRIGGER member_profiles_door_facts_insert AFTER INSERT ON member_profiles
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.account_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER member_profiles_door_facts_update AFTER UPDATE ON member_profiles
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.account_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.account_id FROM door_fact_versions
        WHERE tenant_id = NEW.tenant_id AND OLD.account_id IS NOT NEW.account_id;
END;
CREATE TRIGGER member_profiles_door_facts_delete AFTER DELETE ON member_profiles
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT OLD.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = OLD.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.account_id FROM door_fact_versions WHERE tenant_id = OLD.tenant_id;
END;
CREATE TRIGGER locations_door_facts_insert AFTER INSERT ON locations
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, '' FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER locations_door_facts_update AFTER UPDATE ON locations
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, '' FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER locations_door_facts_delete AFTER DELETE ON locations
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT OLD.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = OLD.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, '' FROM door_fact_versions WHERE tenant_id = OLD.tenant_id;
END;
-- Billing updates memberships, invoices and saved cards many times a run (billed-until dates, numbers, attempt
-- counts, reminder dates): only what a decision reads counts.
CREATE TRIGGER memberships_door_facts_insert AFTER INSERT ON memberships
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.account_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER memberships_door_facts_update AFTER UPDATE ON memberships
    WHEN OLD.status IS NOT NEW.status OR OLD.starts_on IS NOT NEW.starts_on OR OLD.ends_on IS NOT NEW.ends_on
        OR OLD.plan_name IS NOT NEW.plan_name OR OLD.access_json IS NOT NEW.access_json
        OR OLD.account_id IS NOT NEW.account_id
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.account_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.account_id FROM door_fact_versions
        WHERE tenant_id = NEW.tenant_id AND OLD.account_id IS NOT NEW.account_id;
END;
CREATE TRIGGER memberships_door_facts_delete AFTER DELETE ON memberships
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT OLD.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = OLD.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.account_id FROM door_fact_versions WHERE tenant_id = OLD.tenant_id;
END;
-- Only open invoices of memberships are kept: a draft, a paid one or a new attempt count is no change.
CREATE TRIGGER invoices_door_facts_insert AFTER INSERT ON invoices
    WHEN NEW.status = 'open'
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.account_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER invoices_door_facts_update AFTER UPDATE ON invoices
    WHEN (OLD.status = 'open' OR NEW.status = 'open') AND (OLD.status IS NOT NEW.status
        OR OLD.due_on IS NOT NEW.due_on OR OLD.membership_id IS NOT NEW.membership_id
        OR OLD.account_id IS NOT NEW.account_id)
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.account_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.account_id FROM door_fact_versions
        WHERE tenant_id = NEW.tenant_id AND OLD.account_id IS NOT NEW.account_id;
END;
CREATE TRIGGER invoices_door_facts_delete AFTER DELETE ON invoices
    WHEN OLD.status = 'open'
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT OLD.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = OLD.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.account_id FROM door_fact_versions WHERE tenant_id = OLD.tenant_id;
END;
CREATE TRIGGER billing_profiles_door_facts_insert AFTER INSERT ON billing_profiles
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.account_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER billing_profiles_door_facts_update AFTER UPDATE ON billing_profiles
    WHEN OLD.method_kind IS NOT NEW.method_kind OR OLD.card_exp_month IS NOT NEW.card_exp_month
        OR OLD.card_exp_year IS NOT NEW.card_exp_year OR OLD.account_id IS NOT NEW.account_id
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, NEW.account_id FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.account_id FROM door_fact_versions
        WHERE tenant_id = NEW.tenant_id AND OLD.account_id IS NOT NEW.account_id;
END;
CREATE TRIGGER billing_profiles_door_facts_delete AFTER DELETE ON billing_profiles
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT OLD.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = OLD.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, OLD.account_id FROM door_fact_versions WHERE tenant_id = OLD.tenant_id;
END;
-- A door's every call records when it was last seen.
CREATE TRIGGER devices_door_facts_insert AFTER INSERT ON devices
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, '' FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER devices_door_facts_update AFTER UPDATE ON devices
    WHEN OLD.kind IS NOT NEW.kind OR OLD.name IS NOT NEW.name OR OLD.location_id IS NOT NEW.location_id
        OR OLD.status IS NOT NEW.status OR OLD.anti_passback IS NOT NEW.anti_passback
        OR OLD.nfc_byte_order IS NOT NEW.nfc_byte_order OR OLD.secret_hash IS NOT NEW.secret_hash
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT NEW.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = NEW.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = NEW.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, '' FROM door_fact_versions WHERE tenant_id = NEW.tenant_id;
END;
CREATE TRIGGER devices_door_facts_delete AFTER DELETE ON devices
BEGIN
    INSERT INTO door_fact_versions (tenant_id, version)
        SELECT OLD.tenant_id, 0 WHERE NOT EXISTS (SELECT 1 FROM door_fact_versions WHERE tenant_id = OLD.tenant_id);
    UPDATE door_fact_versions SET version = version + 1 WHERE tenant_id = OLD.tenant_id;
    INSERT INTO door_fact_changes (tenant_id, version, member_id)
        SELECT tenant_id, version, '' FROM door_fact_versions WHERE tenant_id = OLD.tenant_id;
END;
