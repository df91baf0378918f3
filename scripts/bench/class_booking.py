#!/usr/bin/env python3
"""The class-booking contention benchmark's client: sets up a class with 30 places, 20 of them taken, and 200
members with an active plan that includes it (all through the API, as the desk would), then sends 200 booking
requests at once (one thread each, released together) and reports the wall time until the last answer and the
answers' statuses. Usage: class_booking.py ADDR ADMIN_TOKEN COACH_ID"""
import json, sys, threading, time, urllib.error, urllib.request
from concurrent.futures import ThreadPoolExecutor

addr, token, coach = sys.argv[1], sys.argv[2], sys.argv[3]

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"http://{addr}{path}", data=data, method=method)
    req.add_header("host", "atlas.localhost")
    req.add_header("authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")

def ok(answer, status):
    assert answer[0] == status, answer
    return answer[1]

location = ok(call("POST", "/api/v1/locations", {"name": "Bench", "time_zone": "Europe/Paris"}), 201)["id"]
room = ok(call("POST", f"/api/v1/locations/{location}/rooms", {"name": "Studio", "capacity": 30}), 201)["id"]
weekday = time.gmtime(time.time() + 2 * 86400).tm_wday + 1
ok(call("POST", "/api/v1/class-schedules", {"class_type": "yoga", "pro_id": coach, "room_id": room, "capacity": 30,
    "weekday": weekday, "start_time": "12:00", "duration_minutes": 60, "valid_from": time.strftime("%Y-%m-%d")}), 201)
sessions = ok(call("GET", "/api/v1/class-sessions?limit=100"), 200)["data"]
session = next(s for s in sessions if s["starts_at"] > time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400)))["id"]
plan = ok(call("POST", "/api/v1/plans", {"code": "bench-yoga", "name": "Yoga", "description": "Bench", "kind": "recurring",
    "price": {"amount": 4990, "currency": "EUR"}, "billing_period": "month", "commitment_months": 0, "notice_days": 0,
    "enrolment_fee": 0, "freeze_max_days_per_year": 0, "access": {"class_types": ["yoga"]}}), 201)["id"]

def member(i):
    m = ok(call("POST", "/api/v1/members", {"given_name": f"Bench{i}", "family_name": "Member"}), 201)["id"]
    sold = ok(call("POST", "/api/v1/memberships", {"member_id": m, "plan_id": plan}), 201)["id"]
    ok(call("POST", f"/api/v1/memberships/{sold}/actions", {"action": "activate"}), 200)
    return m

with ThreadPoolExecutor(16) as pool:
    members = list(pool.map(member, range(220)))
for m in members[:20]:
    ok(call("POST", f"/api/v1/class-sessions/{session}/bookings", {"member_id": m}), 201)

answers = [None] * 200
barrier = threading.Barrier(201)
def book(i):
    barrier.wait()
    answers[i] = call("POST", f"/api/v1/class-sessions/{session}/bookings", {"member_id": members[20 + i]})
threads = [threading.Thread(target=book, args=(i,)) for i in range(200)]
for t in threads:
    t.start()
barrier.wait()
started = time.monotonic()
for t in threads:
    t.join()
elapsed = time.monotonic() - started
booked = sum(1 for s, b in answers if s == 201 and b["status"] == "booked")
waitlisted = sum(1 for s, b in answers if s == 201 and b["status"] == "waitlisted")
full = sum(1 for s, b in answers if s == 409 and b["code"] == "class_full")
other = 200 - booked - waitlisted - full
print(f"200 concurrent bookings for the last 10 places: {elapsed * 1000:.0f} ms until the last answer; "
      f"{booked} booked, {waitlisted} waitlisted, {full} class_full, {other} other")
