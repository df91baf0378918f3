#!/usr/bin/env bash
# Door decisions (POST /api/v1/access/check) with N members (default 100,000), each with a printed card and an
# active membership seeded straight in the database (scripts/bench/seed_door.py); every request reads another card
# and records its decision (check-in, presence, outbox event). Then the door's signed allowlist: time to build and
# size. Targets: p99 under 2 ms at 2,000 decisions/s; an allowlist of 100,000 credentials in under 1 s and 5 MB.
# Usage: scripts/bench/door.sh sqlite|postgres [SECONDS] [CONNECTIONS] [MEMBERS]   (default 10 s, 4, 100000)
# DRY_RUN=1 sends dry-run checks (decided, nothing recorded) in both passes: the reads' share of a decision's cost.
# The fixed-rate run also prints the CPU time per check, of the server and of the whole machine, the bytes the
# server wrote per check, and its threads' context switches per check.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
HELLO=$BIN  # this benchmark has no baseline server
need
backend=${1:-sqlite}
seconds=${2:-10}
connections=${3:-4}
members=${4:-100000}
work=$(mktemp -d); chmod 755 "$work"
pids=()
cleanup() {
  # KEEP_LOG=DIR keeps the server's log (with RUST_LOG=warn,tessera_app::access::desk=debug: the size of each group).
  [ -n "${KEEP_LOG:-}" ] && cp "$work/serve.log" "$work/serve.log.err" "$KEEP_LOG/" 2>/dev/null
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ "$backend" = postgres ] && pg_cluster_stop "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
cd "$ROOT"

case "$backend" in
  sqlite) url="sqlite://$work/tessera.db" ;;
  postgres) pg_cluster_start "$work/pg"; url="${TESSERA_TEST_PG_URL%/postgres}/postgres" ;;
  *) echo "usage: $0 sqlite|postgres" >&2; exit 2 ;;
esac
export TESSERA_DATABASE_URL=$url
"$BIN" migrate >/dev/null
"$BIN" tenant apply tenants >/dev/null
seed_start=$(date +%s)
python3 "$ROOT/scripts/bench/seed_door.py" "$url" atlas "$members" "$work/cards.txt" "$(pg_bindir)/psql" >/dev/null
echo "seeded $members members in $(( $(date +%s) - seed_start )) s"
code=$("$BIN" device pair --tenant atlas --kind door --location Bench --no-anti-passback --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["code"])')

start_and_wait "$work/serve.log" "$BIN" serve --listen 127.0.0.1:0; pids+=("$PID"); serve_addr=$ADDR; serve_pid=$PID
token=$(curl -sf -H "host: atlas.localhost" -H 'content-type: application/json' -d "{\"code\":\"$code\"}" \
  "http://$serve_addr/api/v1/devices/pair" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')

extra=""; mode=recorded
[ -n "${DRY_RUN:-}" ] && extra=',"dry_run":true' && mode="dry run"
cat >"$work/check.lua" <<LUA
local cards = {}
for line in io.lines("$work/cards.txt") do cards[#cards + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Host"] = "atlas.localhost"
request = function()
  i = i + 1
  local card = cards[(i * 7919) % #cards + 1]
  return wrk.format(nil, "/api/v1/access/check",
    nil, '{"credential":{"type":"barcode","value":"' .. card .. '"},"direction":"in"${extra}}')
end
LUA
# PERF_OUT=file: also profile the server (DWARF call graphs) while wrk runs.
if [ -n "${PERF_OUT:-}" ]; then
  perf record -q --call-graph dwarf,16384 -F 499 -p "${pids[-1]}" -o "$PERF_OUT" -- sleep "$seconds" 2>/dev/null &
fi
[ "$backend" = postgres ] && pg_stats_reset
wrk -t"${WRK_THREADS:-2}" -c"$connections" -d"${seconds}s" --latency -s "$work/check.lua" \
  "http://$serve_addr/api/v1/access/check" >"$work/check.wrk"
read -r rps p50 p99 errors <<<"$(wrk_summary "$work/check.wrk")"
echo "backend: $backend, wrk -t${WRK_THREADS:-2} -c$connections -d${seconds}s, $members members with cards"
echo "POST /api/v1/access/check ($mode): $rps req/s  p50 ${p50} ms  p99 ${p99} ms  non-2xx $errors"
[ "$backend" = postgres ] && pg_stats_report

# Fixed rate (the target is p99 at 2,000 decisions/s, not at saturation): oha at RATE requests/s with latency
# correction (no coordinated omission), each request another member's card.
rate=${RATE:-2000}
command -v oha >/dev/null || cargo install oha --locked >/dev/null 2>&1 || true
if command -v oha >/dev/null; then
  # One body per line, each another member's card in a scattered order (oha -Z sends them line by line).
  awk -v extra="$extra" '{ printf "{\"credential\":{\"type\":\"barcode\",\"value\":\"%s\"},\"direction\":\"in\"%s}\n", $1, extra }' \
    "$work/cards.txt" | shuf --random-source=<(yes) >"$work/bodies.txt"
  pg_before=0; [ "$backend" = postgres ] && pg_before=$(pg_cpu_secs "$work/pg")
  cpu_before=$(cpu_secs "$serve_pid"); machine_before=$(machine_cpu_secs); written_before=$(written_bytes "$serve_pid")
  read -r switches_before involuntary_before <<<"$(context_switches "$serve_pid")"
  # PERF_RATE_OUT=file: also profile the server (DWARF call graphs) during this fixed-rate run.
  if [ -n "${PERF_RATE_OUT:-}" ]; then
    perf record -q --call-graph dwarf,16384 -F 499 -p "$serve_pid" -o "$PERF_RATE_OUT" -- sleep "$seconds" 2>/dev/null &
  fi
  # OHA_DB=file: also keep every request's start and end (oha's SQLite output), to see when the slow ones came.
  oha --no-tui -q "$rate" --latency-correction -z "${seconds}s" -c "${OHA_CONNECTIONS:-32}" -m POST \
    ${OHA_DB:+--db-url "$OHA_DB"} \
    -T application/json -H "Authorization: Bearer $token" -H "Host: atlas.localhost" \
    -Z "$work/bodies.txt" "http://$serve_addr/api/v1/access/check" >"$work/check.oha"
  cpu_after=$(cpu_secs "$serve_pid"); machine_after=$(machine_cpu_secs); written_after=$(written_bytes "$serve_pid")
  read -r switches_after involuntary_after <<<"$(context_switches "$serve_pid")"
  pg_after=0; [ "$backend" = postgres ] && pg_after=$(pg_cpu_secs "$work/pg")
  python3 - "$work/check.oha" "$rate" "$cpu_before" "$cpu_after" "$machine_before" "$machine_after" \
    "$written_before" "$written_after" "$pg_before" "$pg_after" \
    "$switches_before" "$switches_after" "$involuntary_before" "$involuntary_after" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
SCALE = {"secs": 1000, "sec": 1000, "s": 1000, "ms": 1, "µs": 0.001, "us": 0.001}
def pct(p):
    m = re.search(rf"{p}% in ([\d.]+) ?(secs|sec|ms|µs|us|s)\b", text)
    return f"{float(m.group(1)) * SCALE[m.group(2)]:.2f} ms" if m else "?"
rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
codes = dict(re.findall(r"\[(\d{3})\] (\d+) responses", text))
print(f"POST /api/v1/access/check at {sys.argv[2]}/s (oha): {rps.group(1) if rps else '?'} req/s  p50 {pct('50.00')}  p99 {pct('99.00')}  status codes {codes}")
# CPU time per answered check: the server's own, and the machine's (2 cores make 1,000,000 µs a second each).
answered = sum(int(n) for n in codes.values())
if answered:
    per = lambda before, after: (float(after) - float(before)) / answered * 1e6
    postgres = per(sys.argv[9], sys.argv[10])
    print(f"CPU per check: server {per(sys.argv[3], sys.argv[4]):.0f} µs, "
          + (f"PostgreSQL {postgres:.0f} µs, " if postgres else "")
          + f"whole machine {per(sys.argv[5], sys.argv[6]):.0f} µs (the load generator included)")
    written = (int(sys.argv[8]) - int(sys.argv[7])) / answered / 1024
    # Each switch is a thread that stopped (voluntary: it waited) or was made to stop; on this machine every
    # wake-up of a thread on a lone request's path shows in the tail (docs/performance.md).
    switches = lambda before, after: (int(after) - int(before)) / answered
    print(f"context switches per check in the server: {switches(sys.argv[11], sys.argv[12]):.2f} voluntary, "
          f"{switches(sys.argv[13], sys.argv[14]):.2f} involuntary")
    print(f"written per check: {written:.1f} KiB (the server's write calls: on SQLite the log's pages and the"
          " checkpoints' copies of them, on PostgreSQL little more than the response)")
# A figure of failed requests is not a figure of decisions.
if set(codes) - {"200"}:
    sys.exit("oha: some requests did not succeed: " + str(codes))
if pct('99.00') == "?":
    print(text[:3000])
PY
else
  echo "oha is not installed (cargo install oha failed): no fixed-rate figure"
fi

# The server's resident memory after the checks (the door desk's memory of the brand included).
echo "server resident memory: $(( $(ps -o rss= -p "$serve_pid") / 1024 )) MiB"
for attempt in 1 2 3; do
  curl -sf -o "$work/allowlist.json" -w "allowlist: %{time_total} s, %{size_download} bytes\n" \
    -H "host: atlas.localhost" -H "authorization: Bearer $token" "http://$serve_addr/api/v1/access/allowlist"
done
python3 -c "import json,sys; d=json.load(open('$work/allowlist.json')); print('entries in the allowlist:', len(d['entries']))"
