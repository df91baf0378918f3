#!/usr/bin/env python3
"""Seeds a brand for the scheduling benchmarks straight in the database (SQLite or PostgreSQL through psql):
N pros working every day 08:00-20:00 at one Paris location, one 60-minute service (15 minutes' buffer after)
they all deliver, and M appointments spread over the next four weeks, none overlapping for a pro.
Usage: seed_scheduling.py URL SLUG PROS APPOINTMENTS PSQL  -> prints "service_id pro_id tenant_id"."""
import datetime, random, sqlite3, subprocess, sys, uuid

url, slug, pros, appointments, psql = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]

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
location, service = ident("loc"), ident("svc")
pro_ids = [ident("acc") for _ in range(pros)]
sql = [f"INSERT INTO locations VALUES ('{tenant}', '{location}', 'Bench', NULL, 'Europe/Paris', '{ts}', '{ts}');"]
for i, pro in enumerate(pro_ids):
    person = ident("per")
    sql.append(f"INSERT INTO persons VALUES ('{person}', 'bench-pro-{i}-{person}@bench.test', '{ts}');")
    sql.append(f"INSERT INTO accounts VALUES ('{tenant}', '{pro}', '{person}', 'bench-pro-{i}-{person}@bench.test', 'Pro {i}', NULL, 'coach', 'active', '{ts}', '{ts}', NULL);")
    sql.append(f"INSERT INTO account_roles VALUES ('{tenant}', '{pro}', 'pro');")
    for day in range(1, 8):
        sql.append(f"INSERT INTO pro_hours VALUES ('{tenant}', '{ident('hrs')}', '{pro}', '{location}', {day}, 480, 1200);")
pro_list = "[" + ",".join(f'"{p}"' for p in pro_ids) + "]"
sql.append(f"INSERT INTO services VALUES ('{tenant}', '{service}', 'Bench training', 60, 0, 15, 6000, 'EUR', '{pro_list}', 'in_person', NULL, TRUE, '{ts}', '{ts}');")
member = pro_ids[0]
random.seed(7)
per_pro = appointments // pros
start_day = (now + datetime.timedelta(days=1)).replace(hour=0, minute=0, second=0)
for pro in pro_ids:
    # Distinct (day, hour) pairs between 08:00 and 18:00 UTC over 28 days: never overlapping for one pro.
    for day, hour in random.sample([(d, h) for d in range(28) for h in range(8, 18)], per_pro):
        s = start_day + datetime.timedelta(days=day, hours=hour)
        e = s + datetime.timedelta(minutes=60)
        be = e + datetime.timedelta(minutes=15)
        f = lambda t: t.strftime("%Y-%m-%d %H:%M:%S")
        sql.append(
            f"INSERT INTO appointments VALUES ('{tenant}', '{ident('apt')}', '{service}', '{pro}', '{member}', '{location}', NULL, "
            f"'{f(s)}', '{f(e)}', '{f(s)}', '{f(be)}', 'booked', 6000, 'EUR', NULL, NULL, NULL, '{member}', '{ts}', '{ts}', NULL, NULL);"
        )
run("BEGIN;\n" + "\n".join(sql) + "\nCOMMIT;\n")
print(service, pro_ids[0], tenant)
