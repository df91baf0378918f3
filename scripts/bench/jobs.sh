#!/usr/bin/env bash
# Job throughput: N trivial jobs (diagnostic.noop) drained by one `tessera worker` process with W workers.
# Usage: scripts/bench/jobs.sh postgres|sqlite [JOBS] [WORKERS]   (default 20000 jobs, 2 workers)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need
backend=${1:-postgres}
jobs=${2:-20000}
workers=${3:-2}
work=$(mktemp -d); chmod 755 "$work"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; [ "$backend" = postgres ] && pg_cluster_stop "$work/pg"; rm -rf "$work"; }
trap cleanup EXIT
cd "$ROOT"
case "$backend" in
  sqlite) url="sqlite://$work/tessera.db" ;;
  postgres) pg_cluster_start "$work/pg"; url="$TESSERA_TEST_PG_URL" ;;
  *) echo "usage: $0 postgres|sqlite [JOBS] [WORKERS]" >&2; exit 2 ;;
esac
export TESSERA_DATABASE_URL=$url TESSERA_JOBS__ENABLE_DIAGNOSTIC_KINDS=true TESSERA_JOBS__WORKERS=$workers
"$BIN" migrate >/dev/null
"$BIN" jobs enqueue diagnostic.noop --count "$jobs" >/dev/null
left() { "$BIN" jobs list --status "$1" --limit 1 --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
start=$(date +%s%N)
"$BIN" worker >"$work/worker.log" 2>&1 &
pid=$!
until grep -q "job workers running" "$work/worker.log"; do sleep 0.01; done
ready=$(date +%s%N)
while :; do
  [ "$(left queued)" = 0 ] && [ "$(left running)" = 0 ] && break
  sleep 0.05
done
end=$(date +%s%N)
rss=$(rss_mb "$pid")
[ "$(left dead)" = 0 ] || { echo "some jobs died" >&2; exit 1; }
python3 -c "
jobs, ms = $jobs, ($end - $ready) / 1e6
print(f'backend: $backend, all {jobs} jobs succeeded, $workers workers in one process')
print(f'drained in {ms:.0f} ms after the workers started: {jobs / (ms / 1000):.0f} jobs/s; worker RSS $rss MB')
"
