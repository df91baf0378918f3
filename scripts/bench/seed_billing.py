#!/usr/bin/env python3
"""Seeds a brand for the billing-run benchmark: N members, each with an active monthly membership whose renewal
falls on DAY and a card saved at the Stripe-compatible server.

The customers and their cards are created at the fake in one call (`POST /_control/customers/bulk`, no events
raised); the members, memberships and billing profiles are written straight in the database with multi-row
inserts (SQLite through the sqlite3 module, PostgreSQL through psql), in one transaction.
Usage: seed_billing.py URL SLUG N DAY FAKE_URL API_KEY PSQL"""
import datetime, json, sqlite3, subprocess, sys, urllib.request, uuid

url, slug, n, day, fake, key, psql = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
ROWS_PER_INSERT = 1000


def ident(prefix):
    return f"{prefix}_{uuid.uuid4().hex[:26]}"


def query(sql):
    if url.startswith("sqlite://"):
        return sqlite3.connect(url[len("sqlite://"):]).execute(sql).fetchone()[0]
    out = subprocess.run([psql, url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql], text=True, capture_output=True, check=True)
    return out.stdout.strip()


def literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


body = json.dumps({"api_key": key, "count": n, "payment_method": "pm_card_visa", "email_prefix": "bench"}).encode()
request = urllib.request.Request(fake.rstrip("/") + "/_control/customers/bulk", data=body,
                                 headers={"Content-Type": "application/json"})
cards = json.load(urllib.request.urlopen(request, timeout=600))["customers"]
assert len(cards) == n, "the fake created fewer customers than asked"

tenant = query(f"SELECT id FROM tenants WHERE slug = '{slug}'")
ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
renewal = datetime.date.fromisoformat(day)
start = (renewal.replace(day=1) - datetime.timedelta(days=1)).replace(day=min(renewal.day, 28))
plan = ident("pln")

tables = {
    "plans": ("tenant_id, id, code, name, description, translations_json, kind, price_amount, currency, billing_period, "
              "term_months, sessions, commitment_months, notice_days, enrolment_fee_amount, trial_days, "
              "freeze_max_days_per_year, access_json, visibility, available_from, available_until, status, created_at, "
              "updated_at", []),
    "persons": ("id, email, created_at", []),
    "accounts": ("tenant_id, id, person_id, email, display_name, password_hash, specialty, status, created_at, "
                 "updated_at, email_verified_at", []),
    "account_roles": ("tenant_id, account_id, role", []),
    "memberships": ("tenant_id, id, account_id, plan_id, status, plan_name, kind, price_amount, currency, "
                    "billing_period, term_months, commitment_months, notice_days, enrolment_fee_amount, trial_days, "
                    "freeze_max_days_per_year, access_json, sessions_total, sessions_used, starts_on, commitment_until, "
                    "ends_on, sold_online, concluded_at, withdrawal_until, cancel_requested_at, cancel_reason, "
                    "next_plan_id, next_plan_on, created_at, updated_at, billed_until", []),
    "billing_profiles": ("tenant_id, account_id, provider, customer_ref, payment_method_ref, method_kind, card_brand, "
                         "card_last4, card_exp_month, card_exp_year, expiry_notified_on, company_json, updated_at", []),
}
tables["plans"][1].append((tenant, plan, "bench", "Bench monthly", "", "{}", "recurring", 4990, "EUR", "month", None,
                           None, 0, 0, 0, 0, 0, "{}", "public", None, None, "active", ts, ts))
for i, (customer, pm) in enumerate(cards):
    person, account, membership = ident("per"), ident("acc"), ident("mem")
    email = f"bench-{i}-{person[-8:]}@bench.test"
    tables["persons"][1].append((person, email, ts))
    tables["accounts"][1].append((tenant, account, person, email, f"Member {i}", None, None, "active", ts, ts, None))
    tables["account_roles"][1].append((tenant, account, "member"))
    tables["memberships"][1].append((tenant, membership, account, plan, "active", "Bench monthly", "recurring", 4990,
                                     "EUR", "month", None, 0, 0, 0, 0, 0, "{}", None, 0, start.isoformat(),
                                     start.isoformat(), None, False, ts, None, None, None, None, None, ts, ts,
                                     renewal.isoformat()))
    tables["billing_profiles"][1].append((tenant, account, "stripe", customer, pm, "card", "visa", "4242", 12, 2030,
                                          None, None, ts))

if url.startswith("sqlite://"):
    db = sqlite3.connect(url[len("sqlite://"):])
    with db:
        for table, (columns, rows) in tables.items():
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)
else:
    statements = ["BEGIN;"]
    for table, (columns, rows) in tables.items():
        for k in range(0, len(rows), ROWS_PER_INSERT):
            values = ",\n".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows[k:k + ROWS_PER_INSERT])
            statements.append(f"INSERT INTO {table} ({columns}) VALUES\n{values};")
    statements.append("COMMIT;")
    subprocess.run([psql, url, "-v", "ON_ERROR_STOP=1", "-q"], input="\n".join(statements), text=True,
                   capture_output=True, check=True)
print(tenant)
