#!/usr/bin/env python3
"""Seeds a brand for the door benchmarks straight in the database (SQLite, or PostgreSQL through psql): one
location 'Bench', one unlimited plan, N members each with an account, a profile, a printed-card credential and an
active membership. Writes the card numbers, one a line, to CARDS.
Usage: seed_door.py URL SLUG MEMBERS CARDS PSQL"""
import datetime, sqlite3, subprocess, sys, uuid

url, slug, members, cards_path, psql = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def ident(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:26]}"

def run(sql, query=False):
    if url.startswith("sqlite://"):
        db = sqlite3.connect(url[len("sqlite://"):])
        if query:
            return db.execute(sql).fetchone()[0]
        db.executescript(sql)
        db.commit()
        return None
    out = subprocess.run([psql, url, "-v", "ON_ERROR_STOP=1", "-qAt"], input=sql, text=True, capture_output=True, check=True)
    return out.stdout.strip()

tenant = run(f"SELECT id FROM tenants WHERE slug = '{slug}'", query=True)
now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None, microsecond=0)
ts = now.strftime("%Y-%m-%d %H:%M:%S")
location, plan = ident("loc"), ident("pln")
head = [
    f"INSERT INTO locations (tenant_id, id, name, address, time_zone, created_at, updated_at) VALUES ('{tenant}', '{location}', 'Bench', NULL, 'Europe/Paris', '{ts}', '{ts}');",
    "INSERT INTO plans (tenant_id, id, code, name, description, translations_json, kind, price_amount, currency, billing_period, "
    "term_months, sessions, commitment_months, notice_days, enrolment_fee_amount, trial_days, freeze_max_days_per_year, access_json, "
    f"visibility, available_from, available_until, status, created_at, updated_at) VALUES ('{tenant}', '{plan}', 'bench-door', 'Bench', '', '{{}}', "
    f"'recurring', 4990, 'EUR', 'month', NULL, NULL, 0, 0, 0, 0, 0, '{{}}', 'public', NULL, NULL, 'active', '{ts}', '{ts}');",
]
run("\n".join(head))
cards = []
batch = []
def flush():
    if batch:
        run("BEGIN;\n" + "\n".join(batch) + "\nCOMMIT;")
        batch.clear()
for i in range(members):
    person, account = ident("per"), ident("acc")
    card = f"{900000000000 + i:012d}"
    cards.append(card)
    email = f"door-{i}@bench.test"
    batch += [
        f"INSERT INTO persons (id, email, created_at) VALUES ('{person}', '{email}', '{ts}');",
        "INSERT INTO accounts (tenant_id, id, person_id, email, display_name, password_hash, specialty, status, created_at, updated_at) "
        f"VALUES ('{tenant}', '{account}', '{person}', '{email}', 'Door {i}', NULL, NULL, 'active', '{ts}', '{ts}');",
        f"INSERT INTO account_roles (tenant_id, account_id, role) VALUES ('{tenant}', '{account}', 'member');",
        "INSERT INTO member_profiles (tenant_id, account_id, given_name, family_name, phone, birth_date, address_json, "
        "emergency_contact_json, photo_file_id, locale, card_number, member_status, guardian_account_id, source, created_at, updated_at) "
        f"VALUES ('{tenant}', '{account}', 'Door', 'Member {i}', NULL, NULL, NULL, NULL, NULL, 'fr', '{card}', 'active', NULL, 'import', '{ts}', '{ts}');",
        "INSERT INTO access_credentials (tenant_id, id, member_id, kind, value, status, label, replaced_by, created_at, revoked_at) "
        f"VALUES ('{tenant}', '{ident('crd')}', '{account}', 'card', '{card}', 'active', NULL, NULL, '{ts}', NULL);",
        "INSERT INTO memberships (tenant_id, id, account_id, plan_id, status, plan_name, kind, price_amount, currency, billing_period, "
        "term_months, commitment_months, notice_days, enrolment_fee_amount, trial_days, freeze_max_days_per_year, access_json, "
        "sessions_total, sessions_used, starts_on, commitment_until, ends_on, sold_online, concluded_at, withdrawal_until, "
        "cancel_requested_at, cancel_reason, next_plan_id, next_plan_on, created_at, updated_at) "
        f"VALUES ('{tenant}', '{ident('mem')}', '{account}', '{plan}', 'active', 'Bench', 'recurring', 4990, 'EUR', 'month', NULL, 0, 0, 0, 0, 0, "
        f"'{{}}', NULL, 0, '2026-01-01', '2026-01-01', NULL, FALSE, '{ts}', NULL, NULL, NULL, NULL, NULL, '{ts}', '{ts}');",
    ]
    if len(batch) >= 6000:
        flush()
flush()
with open(cards_path, "w") as f:
    f.write("\n".join(cards) + "\n")
print(location)
