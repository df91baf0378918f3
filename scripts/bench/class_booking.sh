#!/usr/bin/env bash
# Class booking under contention: 200 requests at once for the last 10 places of a class (30 places, 20 taken;
# the brand's waitlist holds 20), each from the desk for a different member with an active plan. Target: every
# request answered within 1 s in total. Reports the wall time from the release of the 200 client threads to the
# last answer. Usage: scripts/bench/class_booking.sh sqlite|postgres
set -euo pipefail
source "$(dirname "$0")/lib.sh"
HELLO=$BIN  # this benchmark has no baseline server
need
backend=${1:-sqlite}
bench_database "$backend"
echo "bench-password-2026" | "$BIN" user create --tenant atlas --email admin@bench.test --name Admin --role admin --password-stdin >/dev/null
echo "bench-password-2026" | "$BIN" user create --tenant atlas --email coach@bench.test --name Coach --role pro --specialty coach --password-stdin >/dev/null

start_and_wait "$work/serve.log" "$BIN" serve --listen 127.0.0.1:0; pids+=("$PID"); serve_addr=$ADDR
login() {
  curl -sf -H "host: atlas.localhost" -H 'content-type: application/json' \
    -d "{\"email\":\"$1\",\"password\":\"bench-password-2026\"}" "http://$serve_addr/api/v1/auth/token" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
admin=$(login admin@bench.test)
coach=$(curl -sf -H "host: atlas.localhost" -H "authorization: Bearer $(login coach@bench.test)" "http://$serve_addr/api/v1/me" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["account"]["id"])')
echo "backend: $backend"
python3 "$ROOT/scripts/bench/class_booking.py" "$serve_addr" "$admin" "$coach"
