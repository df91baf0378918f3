#!/usr/bin/env bash
# GET /api/v1/me with a valid token against a bare axum "hello" handler, measured with wrk in the same run on
# the same machine, then the server's resident memory idle after a burst of 100 logins.
# Usage: scripts/bench/api.sh sqlite|postgres [SECONDS]   (default 10 s per load, 64 connections, 2 threads)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need
backend=${1:-sqlite}
seconds=${2:-10}
bench_database "$backend"
echo "bench-password-2026" | "$BIN" user create --tenant atlas --email bench@atlas.test --name Bench --role member --password-stdin >/dev/null

start_and_wait "$work/hello.log" "$HELLO" 127.0.0.1:0; pids+=("$PID"); hello_addr=$ADDR
start_and_wait "$work/serve.log" "$BIN" serve --listen 127.0.0.1:0; pids+=("$PID"); serve_pid=$PID; serve_addr=$ADDR

token=$(curl -sf -H "host: atlas.localhost" -H 'content-type: application/json' \
  -d '{"email":"bench@atlas.test","password":"bench-password-2026"}' "http://$serve_addr/api/v1/auth/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

wrk -t"${WRK_THREADS:-2}" -c64 -d"${seconds}s" --latency "http://$hello_addr/hello" >"$work/hello.wrk"
wrk -t"${WRK_THREADS:-2}" -c64 -d"${seconds}s" --latency -H "Host: atlas.localhost" -H "authorization: Bearer $token" \
  "http://$serve_addr/api/v1/me" >"$work/me.wrk"
read -r hello_rps hello_p50 hello_p99 _ <<<"$(wrk_summary "$work/hello.wrk")"
read -r me_rps me_p50 me_p99 me_errors <<<"$(wrk_summary "$work/me.wrk")"
echo "backend: $backend, wrk -t${WRK_THREADS:-2} -c64 -d${seconds}s"
echo "hello (bare axum):   $hello_rps req/s  p50 ${hello_p50} ms  p99 ${hello_p99} ms"
echo "GET /api/v1/me:      $me_rps req/s  p50 ${me_p50} ms  p99 ${me_p99} ms  non-2xx $me_errors"
python3 -c "print(f'share of hello: {100 * $me_rps / $hello_rps:.1f} %')"

# Memory: a burst of 100 logins (production Argon2id cost), 16 at a time, then idle.
echo "rss before logins:   $(rss_mb "$serve_pid") MB"
seq 1 100 | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' -H "host: atlas.localhost" \
  -H 'content-type: application/json' -d '{"email":"bench@atlas.test","password":"bench-password-2026"}' \
  "http://$serve_addr/api/v1/auth/token" | sort | uniq -c | sed 's/^/logins: /'
sleep 3
echo "rss idle 3 s after 100 logins: $(rss_mb "$serve_pid") MB"
sleep 12
echo "rss idle 15 s after 100 logins (idle blocking threads have exited): $(rss_mb "$serve_pid") MB"
