#!/usr/bin/env bash
# Bookable slots of one pro and one service over four weeks (GET /api/v1/services/{id}/slots), with 50 pros and
# 2,000 existing appointments seeded straight in the database (scripts/bench/seed_scheduling.py). Target: p99 under
# 10 ms. Usage: scripts/bench/slots.sh sqlite|postgres [SECONDS] [CONNECTIONS]   (default 10 s, 8 connections)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
HELLO=$BIN  # this benchmark has no baseline server
need
backend=${1:-sqlite}
seconds=${2:-10}
connections=${3:-8}
bench_database "$backend"
echo "bench-password-2026" | "$BIN" user create --tenant atlas --email bench@atlas.test --name Bench --role member --password-stdin >/dev/null
read -r service pro _ <<<"$(python3 "$ROOT/scripts/bench/seed_scheduling.py" "$url" atlas 50 2000 "$(pg_bindir)/psql")"

start_and_wait "$work/serve.log" "$BIN" serve --listen 127.0.0.1:0; pids+=("$PID"); serve_addr=$ADDR
token=$(curl -sf -H "host: atlas.localhost" -H 'content-type: application/json' \
  -d '{"email":"bench@atlas.test","password":"bench-password-2026"}' "http://$serve_addr/api/v1/auth/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
from=$(date -u -d tomorrow +%F); to=$(date -u -d '+28 days' +%F)
path="/api/v1/services/$service/slots?from=$from&to=$to&pro=$pro"
slots=$(curl -sf -H "host: atlas.localhost" -H "authorization: Bearer $token" "http://$serve_addr$path" |
  python3 -c 'import json,sys; print(len(json.load(sys.stdin)["data"]))')
wrk -t"${WRK_THREADS:-2}" -c"$connections" -d"${seconds}s" --latency -H "Host: atlas.localhost" -H "authorization: Bearer $token" \
  "http://$serve_addr$path" >"$work/slots.wrk"
read -r rps p50 p99 errors <<<"$(wrk_summary "$work/slots.wrk")"
echo "backend: $backend, wrk -t${WRK_THREADS:-2} -c$connections -d${seconds}s, 50 pros, 2000 appointments, $slots slots in 28 days"
echo "GET slots (1 pro, 4 weeks): $rps req/s  p50 ${p50} ms  p99 ${p99} ms  non-2xx $errors"
