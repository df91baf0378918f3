#!/usr/bin/env python3
"""Seeds a brand for the door benchmarks straight in the database (SQLite, or PostgreSQL through psql): one
location 'Bench', one unlimited plan, N members each with an account, a profile, a printed-card credential and an
active membership; a door history like a live club's (two allowed entries per member in the last 60 days, 500
members inside now). Writes the card numbers, one a line, to CARDS.
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
cards = [f"{900000000000 + i:012d}" for i in range(members)]
people = [(ident("per"), ident("acc"), ident("crd"), ident("mem")) for _ in range(members)]
tables = {
    "persons": ("id, email, created_at",
                [(p, f"door-{i}@bench.test", ts) for i, (p, _, _, _) in enumerate(people)]),
    "accounts": ("tenant_id, id, person_id, email, display_name, password_hash, specialty, status, created_at, updated_at",
                 [(tenant, a, p, f"door-{i}@bench.test", f"Door {i}", None, None, "active", ts, ts)
                  for i, (p, a, _, _) in enumerate(people)]),
    "account_roles": ("tenant_id, account_id, role", [(tenant, a, "member") for (_, a, _, _) in people]),
    "member_profiles": ("tenant_id, account_id, given_name, family_name, phone, birth_date, address_json, "
                        "emergency_contact_json, photo_file_id, locale, card_number, member_status, guardian_account_id, "
                        "source, created_at, updated_at",
                        [(tenant, a, "Door", f"Member {i}", None, None, None, None, None, "fr", cards[i], "active", None,
                          "import", ts, ts) for i, (_, a, _, _) in enumerate(people)]),
    "access_credentials": ("tenant_id, id, member_id, kind, value, status, label, replaced_by, created_at, revoked_at",
                           [(tenant, c, a, "card", cards[i], "active", None, None, ts, None)
                            for i, (_, a, c, _) in enumerate(people)]),
    "memberships": ("tenant_id, id, account_id, plan_id, status, plan_name, kind, price_amount, currency, billing_period, "
                    "term_months, commitment_months, notice_days, enrolment_fee_amount, trial_days, freeze_max_days_per_year, "
                    "access_json, sessions_total, sessions_used, starts_on, commitment_until, ends_on, sold_online, "
                    "concluded_at, withdrawal_until, cancel_requested_at, cancel_reason, next_plan_id, next_plan_on, "
                    "created_at, updated_at",
                    [(tenant, m, a, plan, "active", "Bench", "recurring", 4990, "EUR", "month", None, 0, 0, 0, 0, 0, "{}",
                      None, 0, "2026-01-01", "2026-01-01", None, False, ts, None, None, None, None, None, ts, ts)
                     for (_, a, _, m) in people]),
}
def ago(**delta):
    return (now - datetime.timedelta(**delta)).strftime("%Y-%m-%d %H:%M:%S")
tables["access_events"] = (
    "tenant_id, id, device_id, location_id, member_id, credential_id, credential_kind, direction, decision, reason, "
    "source, client_event_id, flagged, flag_reason, override_of, override_by, override_reason, occurred_at, recorded_at",
    [(tenant, ident("acx"), None, location, a, c, "card", "in", "allow", None, "online", None, False, None, None, None,
      None, when, when)
     for i, (_, a, c, _) in enumerate(people)
     for when in (ago(days=1 + i % 60, hours=i % 11), ago(days=1 + (i * 7) % 60, hours=i % 5))])
tables["access_presence"] = (
    "tenant_id, location_id, member_id, entered_at, device_id",
    [(tenant, location, a, ago(hours=1), None) for (_, a, _, _) in people[:500]])
if url.startswith("sqlite://"):
    # One transaction of parameterised inserts: seconds, where one SQL script per 1,000 members took minutes.
    db = sqlite3.connect(url[len("sqlite://"):])
    with db:
        for table, (columns, rows) in tables.items():
            marks = ", ".join("?" * len(columns.split(",")))
            db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
    db.close()
else:
    # PostgreSQL: COPY from text, one table after the other, in one psql session and transaction.
    def field(v):
        if v is None:
            return "\\N"
        if isinstance(v, bool):
            return "t" if v else "f"
        return str(v).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    script = ["BEGIN;"]
    for table, (columns, rows) in tables.items():
        script.append(f"COPY {table} ({columns}) FROM STDIN;")
        script.extend("\t".join(field(v) for v in row) for row in rows)
        script.append("\\.")
    script.append("COMMIT;")
    # Statistics, as autovacuum would gather them within a minute on a live database: without them the planner
    # believes the tables empty and may read a whole brand's credentials for a group's `value = ANY(...)`.
    script.append("ANALYZE;")
    run("\n".join(script) + "\n")
with open(cards_path, "w") as f:
    f.write("\n".join(cards) + "\n")
print(location)
