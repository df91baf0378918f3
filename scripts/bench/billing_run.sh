#!/usr/bin/env bash
# The daily billing run over N due memberships (default 100,000), each renewed, invoiced, finalised and charged
# off-session with its saved card through the Stripe-compatible server (tools/stripe-fake, release build, on
# loopback); PDFs excluded (their jobs are queued, not run). Targets: under 2 minutes on PostgreSQL, 3 on SQLite,
# under 200 MB of memory. Prints the run's report, its wall time and the CLI's peak RSS, then checks in the fake's
# own records that every invoice was charged exactly once.
# Usage: scripts/bench/billing_run.sh sqlite|postgres [N]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
HELLO=$BIN
need
backend=${1:-sqlite}
n=${2:-100000}
FAKE=${STRIPE_FAKE_BIN:-$ROOT/target/release/stripe-fake}
[ -x "$FAKE" ] || (cd "$ROOT" && cargo build --release -p stripe-fake)
work=$(mktemp -d); chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; [ "$backend" = postgres ] && pg_cluster_stop "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
cd "$ROOT"
case "$backend" in
  sqlite) url="sqlite://$work/tessera.db" ;;
  postgres) pg_cluster_start "$work/pg"; url="${TESSERA_TEST_PG_URL%/postgres}/postgres" ;;
  *) echo "usage: $0 sqlite|postgres [N]" >&2; exit 2 ;;
esac
export TESSERA_DATABASE_URL=$url
"$BIN" migrate >/dev/null
"$BIN" tenant apply tenants >/dev/null
key=sk_test_bench
# No webhook endpoint: the CLI records each answer itself, and undeliverable webhooks retried with back-off
# would fill the fake's queue and slow its API down (back-pressure) — that is what made the first seeding crawl.
"$FAKE" --listen 127.0.0.1:0 --api-key "$key" --max-events 1000 >"$work/fake.out" 2>/dev/null &
pids+=($!)
for _ in $(seq 50); do grep -q "listening on" "$work/fake.out" 2>/dev/null && break; sleep 0.1; done
fake=$(sed -n 's/^listening on //p' "$work/fake.out")
day=$(date -u -d "+1 day" +%F)
echo "seeding $n members with saved cards (fake at $fake)..."
/usr/bin/time -f "seeded in %e s" python3 "$ROOT/scripts/bench/seed_billing.py" "$url" atlas "$n" "$day" "$fake" "$key" "$(pg_bindir)/psql" >/dev/null
export ATLAS_STRIPE_SECRET_KEY=$key ATLAS_STRIPE_WEBHOOK_SECRET=whsec_bench TESSERA_PAYMENTS__STRIPE_API_BASE="$fake/"
export TESSERA_PAYMENTS__RUN_CONCURRENCY=${CONCURRENCY:-16}
[ "$backend" = postgres ] && pg_stats_reset
echo "billing run on $backend, $n memberships due on $day:"
/usr/bin/time -f "wall %e s, peak RSS %M KiB" "$BIN" billing run --tenant atlas --date "$day" --json 2>"$work/time.txt" >"$work/report.json"
cat "$work/report.json"; echo; tail -1 "$work/time.txt"
[ "$backend" = postgres ] && pg_stats_report
curl -s "$fake/_control/charges?metadata_key=tessera_invoice_id" | python3 -c '
import json, sys
d = json.load(sys.stdin)["by_metadata_value"]
ok = sum(1 for v in d.values() if v.get("succeeded") == 1)
twice = sum(1 for v in d.values() if v.get("succeeded", 0) > 1)
print(f"fake: {len(d)} invoices charged, {ok} exactly once, {twice} more than once")'
