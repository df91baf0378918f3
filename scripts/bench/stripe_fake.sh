#!/usr/bin/env bash
# stripe-fake throughput: N off-session payments through async-stripe (one idempotency key each, as a billing run
# sends them) against the `stripe-fake` binary, with a webhook receiver counting payment_intent.succeeded.
# Usage: scripts/bench/stripe_fake.sh [PAYMENTS] [CONCURRENCY]   (default 100000 payments, 16 in flight)
# Builds the release binaries when STRIPE_FAKE_BIN / STRIPE_FAKE_LOAD are not given.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
payments=${1:-100000}
concurrency=${2:-16}
FAKE=${STRIPE_FAKE_BIN:-$ROOT/target/release/stripe-fake}
LOAD=${STRIPE_FAKE_LOAD:-$ROOT/target/release/examples/load}
[ -x "$FAKE" ] && [ -x "$LOAD" ] || (cd "$ROOT" && cargo build --release -p stripe-fake --bins --examples)
work=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# Events are delivered; only the newest 10 000 are kept for GET /v1/events, to bound the fake's memory.
start_and_wait "$work/fake.log" "$FAKE" --listen 127.0.0.1:0 --max-events 10000
"$LOAD" "http://$ADDR" "$payments" "$concurrency"
echo "stripe-fake RSS $(rss_mb "$PID") MB, CPU $(ps -o time= -p "$PID" | tr -d ' ')"
