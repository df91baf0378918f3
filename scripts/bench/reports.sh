#!/usr/bin/env bash
# Reports over a large brand: CHECKINS door decisions and INVOICES invoices over 2026 (scripts/bench/seed_reports.py),
# then each report of the year through the API under wrk (one connection, so each figure is one report's own
# latency), and each through the CLI once (wall time, /usr/bin/time).
# Usage: scripts/bench/reports.sh sqlite|postgres [CHECKINS] [INVOICES] [SECONDS]   (default 1000000, 100000, 10 s)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need
backend=${1:-sqlite}
checkins=${2:-1000000}
invoices=${3:-100000}
seconds=${4:-10}
bench_database "$backend"
echo "bench-password-2026" | "$BIN" user create --tenant atlas --email boss@atlas.test --name Boss --role admin --password-stdin >/dev/null
start=$(date +%s.%N)
python3 scripts/bench/seed_reports.py "$url" "$checkins" "$invoices"
echo "seeding: $(python3 -c "print(round($(date +%s.%N) - $start, 1))") s"

start_and_wait "$work/serve.log" "$BIN" serve --listen 127.0.0.1:0
pids+=("$PID")
token=$(curl -sf "http://$ADDR/api/v1/auth/token" -H "host: atlas.localhost" -H 'content-type: application/json' \
  -d '{"email":"boss@atlas.test","password":"bench-password-2026"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
range="from=2026-01-01&to=2026-12-31"
printf "%-22s %8s %9s %9s %9s  %s\n" report requests "p50 ms" "p99 ms" "cli s" "rows"
for report in revenue "revenue&by=plan" "revenue&by=vat" "revenue&by=method" mrr members attendance pro-hours receivables checkins; do
  name=${report%%&*}
  path="/api/v1/reports/$name?$range${report#$name}"
  rows=$(curl -sf "http://$ADDR$path" -H "host: atlas.localhost" -H "authorization: Bearer $token" \
    | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rows"]))')
  wrk -t1 -c1 -d"${seconds}s" --latency -H "Host: atlas.localhost" -H "authorization: Bearer $token" \
    "http://$ADDR$path" > "$work/wrk.txt"
  read -r rps p50 p99 errors < <(wrk_summary "$work/wrk.txt")
  [ "$errors" = 0 ] || { echo "$report: $errors errors" >&2; exit 1; }
  requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/wrk.txt")
  by=()
  [ "$report" != "$name" ] && by=(--by "${report#*by=}")
  /usr/bin/time -f "%e" -o "$work/cli.time" "$BIN" report "$name" --tenant atlas --from 2026-01-01 --to 2026-12-31 "${by[@]}" --format json >/dev/null
  printf "%-22s %8s %9s %9s %9s  %s\n" "$report" "$requests" "$p50" "$p99" "$(cat "$work/cli.time")" "$rows"
done
# The group report runs every brand's figures; the operator runs it from the CLI here.
/usr/bin/time -f "%e" -o "$work/cli.time" "$BIN" report group --from 2026-01-01 --to 2026-12-31 --format json >/dev/null
printf "%-22s %8s %9s %9s %9s\n" "group (cli)" - - - "$(cat "$work/cli.time")"
echo "server RSS after the run: $(rss_mb "$PID") MB"
