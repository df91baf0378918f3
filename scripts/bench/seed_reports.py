#!/usr/bin/env python3
"""Seeds the data of the reports benchmark into the gym brand (atlas) of a migrated database.

Usage: seed_reports.py DATABASE_URL CHECKINS INVOICES

Writes, over the year 2026: CHECKINS door decisions (95 % allowed, 5 % refused with a reason, every hour of the
day but mostly evenings, two locations), INVOICES finalised invoices of two lines (20 % and 5.5 % VAT) with one
payment each (four in five succeeded), a credit note for one invoice in fifty, INVOICES / 5 memberships on three
plans, 5,000 class sessions with 60,000 bookings, 10,000 appointments and 2,000 clock-in entries for ten pros.
Rows are generated here and loaded in bulk: executemany in one transaction on SQLite, COPY on PostgreSQL.
"""
import csv
import datetime as dt
import io
import random
import sqlite3
import subprocess
import sys

url, checkins, invoices = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(7)
START = dt.datetime(2026, 1, 1)
SECONDS = 365 * 86400
NOW = "2026-01-01 00:00:00"


def ts(offset):
    return (START + dt.timedelta(seconds=offset)).strftime("%Y-%m-%d %H:%M:%S")


def day(offset):
    return (START + dt.timedelta(seconds=offset)).strftime("%Y-%m-%d")


def query_one(sql):
    if url.startswith("sqlite://"):
        with sqlite3.connect(url[len("sqlite://"):]) as c:
            return c.execute(sql).fetchone()[0]
    return subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


tenant = query_one("SELECT id FROM tenants WHERE slug = 'atlas'")
members = max(invoices // 5, 100)
pros = [f"acc_benchpro{i:02d}" for i in range(10)]
tables = {}


def add(table, columns, rows):
    tables[table] = (columns, rows)


add("plans", ["tenant_id", "id", "code", "name", "description", "translations_json", "kind", "price_amount", "currency",
              "billing_period", "commitment_months", "notice_days", "enrolment_fee_amount", "trial_days",
              "freeze_max_days_per_year", "access_json", "visibility", "status", "created_at", "updated_at"],
    [[tenant, f"pln_bench{i}", f"bench{i}", name, "", "{}", kind, price, "EUR", period, 0, 0, 0, 0, 0, "{}",
      "public", "active", NOW, NOW]
     for i, (name, kind, price, period) in enumerate([("Bench monthly", "recurring", 3990, "month"),
                                                      ("Bench yearly", "recurring", 39900, "year"),
                                                      ("Bench pack", "pack", 12000, None)])])
plan_of = [("pln_bench0", "Bench monthly", "recurring", 3990, "month"),
           ("pln_bench1", "Bench yearly", "recurring", 39900, "year"),
           ("pln_bench2", "Bench pack", "pack", 12000, None)]
rows = []
for i in range(members):
    pid, name, kind, price, period = plan_of[i % 3]
    start = random.randrange(0, SECONDS - 86400)
    ends = day(start + random.randrange(30, 300) * 86400) if i % 4 == 0 else None
    status = "cancelled" if ends else "active"
    rows.append([tenant, f"msh_bench{i}", f"acc_bench{i}", pid, status, name, kind, price, "EUR", period, 0, 0, 0,
                 0, 0, "{}", 0, day(start), day(start), ends, "false", NOW, NOW, NOW])
add("memberships", ["tenant_id", "id", "account_id", "plan_id", "status", "plan_name", "kind", "price_amount",
                    "currency", "billing_period", "commitment_months", "notice_days", "enrolment_fee_amount",
                    "trial_days", "freeze_max_days_per_year", "access_json", "sessions_used", "starts_on",
                    "commitment_until", "ends_on", "sold_online", "concluded_at", "created_at", "updated_at"], rows)

invoice_rows, line_rows, payment_rows = [], [], []
for i in range(invoices):
    at = random.randrange(0, SECONDS)
    member = random.randrange(members)
    credit = i % 50 == 49
    kind = "credit_note" if credit else "invoice"
    a, b = random.choice([3990, 4990, 2990]), random.choice([0, 1500, 2500])
    lines = [(a, 2000)] + ([(b, 550)] if b else [])
    excl = sum(n for n, _ in lines)
    vat = sum((n * r + 5000) // 10000 for n, r in lines)
    paid = 0 if credit or i % 5 == 4 else excl + vat
    status = "issued" if credit else ("paid" if paid else "open")
    invoice_rows.append([tenant, f"inv_bench{i}", kind, status, f"B-{i}", "B", i + 1, f"acc_bench{member}",
                         f"acc_bench{member}", "{}", f"msh_bench{member}", "EUR", excl, vat, excl + vat, paid, 0,
                         "fr", day(at), day(at + 30 * 86400), 0, ts(at), ts(at), ts(at)])
    for position, (net, rate) in enumerate(lines, 1):
        line_rows.append([tenant, f"inv_bench{i}", position, "plan", "bench", "false", 1, net, "standard", rate, net])
    if not credit:
        ok = i % 5 != 4
        payment_rows.append([tenant, f"pay_bench{i}", f"inv_bench{i}", f"acc_bench{member}",
                             random.choice(["stripe", "manual"]), random.choice(["card", "cash", "sepa_debit"]),
                             "succeeded" if ok else "failed", excl + vat, "EUR", 1, f"bench-{i}", 0, ts(at + 60),
                             ts(at + 60), ts(at + 60) if ok else None])
add("invoices", ["tenant_id", "id", "kind", "status", "number", "series", "sequence_no", "account_id",
                 "payer_account_id", "buyer_json", "membership_id", "currency", "total_excl", "total_vat",
                 "total_incl", "amount_paid", "amount_credited", "locale", "issued_on", "due_on", "attempts",
                 "created_at", "finalised_at", "updated_at"], invoice_rows)
add("invoice_lines", ["tenant_id", "invoice_id", "position", "item", "description", "goods", "quantity", "unit_price",
                      "vat_code", "vat_rate_bps", "net_amount"], line_rows)
add("payments", ["tenant_id", "id", "invoice_id", "account_id", "provider", "method", "status", "amount", "currency",
                 "attempt", "idempotency_key", "refunded_amount", "created_at", "updated_at", "settled_at"],
    payment_rows)

reasons = ["payment_overdue", "unknown_credential", "outside_hours", "membership_frozen", "anti_passback"]
rows = []
for i in range(checkins):
    # Evenings are busier: the hour is drawn with weights, the day uniformly.
    hour = random.choices(range(24), weights=[1] * 6 + [4, 6, 5, 3, 3, 4, 5, 4, 3, 3, 5, 8, 9, 8, 5, 3, 2, 1])[0]
    at = random.randrange(365) * 86400 + hour * 3600 + random.randrange(3600)
    allow = random.random() < 0.95
    rows.append([tenant, f"acx_bench{i}", "dev_bench", random.choice(["loc_bench_a", "loc_bench_b"]),
                 f"acc_bench{random.randrange(members)}", "card", "in", "allow" if allow else "deny",
                 None if allow else random.choice(reasons), "online", "false", ts(at), ts(at)])
add("access_events", ["tenant_id", "id", "device_id", "location_id", "member_id", "credential_kind", "direction",
                      "decision", "reason", "source", "flagged", "occurred_at", "recorded_at"], rows)
add("locations", ["tenant_id", "id", "name", "time_zone", "created_at", "updated_at"],
    [[tenant, "loc_bench_a", "Bench Central", "Europe/Paris", NOW, NOW],
     [tenant, "loc_bench_b", "Bench Annexe", "Europe/Paris", NOW, NOW]])

sessions, bookings = [], []
for i in range(5000):
    at = random.randrange(365) * 86400 + random.choice([7, 12, 18, 19]) * 3600
    sessions.append([tenant, f"cls_bench{i}", f"sch_bench{i}", "yoga", pros[i % 10], "loc_bench_a", "room_a", ts(at),
                     ts(at + 3600), 20, 13, "cancelled" if i % 40 == 0 else "scheduled", NOW])
    for j in range(12):
        bookings.append([tenant, f"bkg_bench{i}_{j}", f"cls_bench{i}", f"acc_bench{random.randrange(members)}",
                         "cancelled" if j == 11 else "booked", j + 1, "false", 0, "EUR", "acc_bench0", NOW, NOW,
                         ts(at + 60) if j < 8 else None])
add("class_sessions", ["tenant_id", "id", "schedule_id", "class_type", "pro_id", "location_id", "room_id",
                       "starts_at", "ends_at", "capacity", "next_seq", "status", "created_at"], sessions)
add("class_bookings", ["tenant_id", "id", "session_id", "member_id", "status", "seq", "consumed", "price_amount",
                       "price_currency", "created_by", "created_at", "updated_at", "checked_in_at"], bookings)
rows = []
for i in range(10000):
    at = random.randrange(365) * 86400 + random.randrange(8, 20) * 3600
    rows.append([tenant, f"apt_bench{i}", "svc_bench", pros[i % 10], f"acc_bench{random.randrange(members)}",
                 ts(at), ts(at + 1800), ts(at), ts(at + 1800), "cancelled" if i % 10 == 0 else "booked", 0, "EUR",
                 "acc_bench0", NOW, NOW])
add("appointments", ["tenant_id", "id", "service_id", "pro_id", "member_id", "starts_at", "ends_at", "block_start",
                     "block_end", "status", "price_amount", "price_currency", "created_by", "created_at", "updated_at"],
    rows)
add("clock_entries", ["tenant_id", "id", "pro_id", "clock_in_at", "clock_out_at"],
    [[tenant, f"clk_bench{i}", pros[i % 10], ts(d := random.randrange(365) * 86400 + 8 * 3600), ts(d + 8 * 3600)]
     for i in range(2000)])
add("persons", ["id", "email", "created_at"], [[f"prs_{p}", f"{p}@atlas.bench", NOW] for p in pros])
add("accounts", ["tenant_id", "id", "person_id", "email", "display_name", "status", "created_at", "updated_at"],
    [[tenant, p, f"prs_{p}", f"{p}@atlas.bench", f"Pro {i}", "active", NOW, NOW] for i, p in enumerate(pros)])

# Lines before their invoices are finalised: the triggers refuse lines on a finalised document, so invoices go
# in as drafts and are finalised by one UPDATE afterwards.
order = ["plans", "memberships", "locations", "persons", "accounts", "access_events", "class_sessions", "class_bookings",
         "appointments", "clock_entries", "invoices", "invoice_lines", "payments"]
finalise = ("UPDATE invoices SET status = CASE WHEN kind = 'credit_note' THEN 'issued' "
            "WHEN amount_paid > 0 THEN 'paid' ELSE 'open' END, number = 'B-' || sequence_no "
            f"WHERE tenant_id = '{tenant}' AND id LIKE 'inv_bench%'")


def draft(table, columns, row):
    if table != "invoices":
        return row
    row = list(row)
    row[columns.index("status")] = "draft"
    row[columns.index("number")] = None
    return row


if url.startswith("sqlite://"):
    conn = sqlite3.connect(url[len("sqlite://"):])
    conn.execute("PRAGMA journal_mode = WAL")
    with conn:
        for table in order:
            columns, rows = tables[table]
            marks = ", ".join("?" for _ in columns)
            conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                             (draft(table, columns, [(1 if v == "true" else 0 if v == "false" else v) for v in r])
                              for r in rows))
        conn.execute(finalise)
    conn.execute("ANALYZE")
    conn.close()
else:
    script = io.StringIO()
    script.write("BEGIN;\n")
    for table in order:
        columns, rows = tables[table]
        script.write(f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, NULL '\\N');\n")
        w = csv.writer(script, lineterminator="\n")
        for r in rows:
            # \N is NULL; an empty field is an empty string (descriptions).
            w.writerow(["\\N" if v is None else v for v in draft(table, columns, r)])
        script.write("\\.\n")
    script.write(finalise + ";\nCOMMIT;\nANALYZE;\n")
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1"], input=script.getvalue(), text=True, check=True)
print(f"seeded {checkins} check-ins, {invoices} invoices, {members} memberships")
