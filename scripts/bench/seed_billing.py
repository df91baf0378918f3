#!/usr/bin/env python3
"""Seeds a brand for the billing-run benchmark: N members, each with an active monthly membership whose renewal
falls on DAY and a card saved at the Stripe-compatible server (a customer and an attached test card created
through its API, 16 requests at a time), written straight in the database (SQLite, or PostgreSQL through psql).
Usage: seed_billing.py URL SLUG N DAY FAKE_URL API_KEY PSQL"""
import datetime, http.client, json, sqlite3, subprocess, sys, threading, urllib.parse, uuid

url, slug, n, day, fake, key, psql = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]

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

# Customers and cards at the fake.
host = urllib.parse.urlparse(fake)
cards = [None] * n
def worker(start):
    conn = http.client.HTTPConnection(host.hostname, host.port)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-www-form-urlencoded"}
    for i in range(start, n, 16):
        conn.request("POST", "/v1/customers", body=f"email=bench{i}%40bench.test", headers=headers)
        customer = json.loads(conn.getresponse().read())["id"]
        conn.request("POST", "/v1/payment_methods/pm_card_visa/attach", body=f"customer={customer}", headers=headers)
        pm = json.loads(conn.getresponse().read())["id"]
        cards[i] = (customer, pm)
threads = [threading.Thread(target=worker, args=(s,)) for s in range(16)]
for t in threads: t.start()
for t in threads: t.join()

tenant = run(f"SELECT id FROM tenants WHERE slug = '{slug}'", query=True)
ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
renewal = datetime.date.fromisoformat(day)
start = (renewal.replace(day=1) - datetime.timedelta(days=1)).replace(day=min(renewal.day, 28))
plan = ident("pln")
sql = [f"INSERT INTO plans (tenant_id, id, code, name, description, translations_json, kind, price_amount, currency, "
       f"billing_period, term_months, sessions, commitment_months, notice_days, enrolment_fee_amount, trial_days, "
       f"freeze_max_days_per_year, access_json, visibility, available_from, available_until, status, created_at, updated_at) "
       f"VALUES ('{tenant}', '{plan}', 'bench', 'Bench monthly', '', '{{}}', 'recurring', 4990, 'EUR', 'month', NULL, NULL, "
       f"0, 0, 0, 0, 0, '{{}}', 'public', NULL, NULL, 'active', '{ts}', '{ts}');"]
for i in range(n):
    person, account, membership = ident("per"), ident("acc"), ident("mem")
    email = f"bench-{i}-{person[-8:]}@bench.test"
    customer, pm = cards[i]
    sql.append(f"INSERT INTO persons VALUES ('{person}', '{email}', '{ts}');")
    sql.append(f"INSERT INTO accounts VALUES ('{tenant}', '{account}', '{person}', '{email}', 'Member {i}', NULL, NULL, 'active', '{ts}', '{ts}', NULL);")
    sql.append(f"INSERT INTO account_roles VALUES ('{tenant}', '{account}', 'member');")
    sql.append(
        f"INSERT INTO memberships (tenant_id, id, account_id, plan_id, status, plan_name, kind, price_amount, currency, "
        f"billing_period, term_months, commitment_months, notice_days, enrolment_fee_amount, trial_days, "
        f"freeze_max_days_per_year, access_json, sessions_total, sessions_used, starts_on, commitment_until, ends_on, "
        f"sold_online, concluded_at, withdrawal_until, cancel_requested_at, cancel_reason, next_plan_id, next_plan_on, "
        f"created_at, updated_at, billed_until) VALUES ('{tenant}', '{membership}', '{account}', '{plan}', 'active', "
        f"'Bench monthly', 'recurring', 4990, 'EUR', 'month', NULL, 0, 0, 0, 0, 0, '{{}}', NULL, 0, '{start}', '{start}', "
        f"NULL, FALSE, '{ts}', NULL, NULL, NULL, NULL, NULL, '{ts}', '{ts}', '{renewal}');")
    sql.append(
        f"INSERT INTO billing_profiles VALUES ('{tenant}', '{account}', 'stripe', '{customer}', '{pm}', 'card', 'visa', "
        f"'4242', 12, 2030, NULL, NULL, '{ts}');")
run("BEGIN;\n" + "\n".join(sql) + "\nCOMMIT;\n")
print(tenant)
