#!/usr/bin/env bash
# `tessera demo` with an existing data folder: time from process start to the first 200 from /readyz.
# Usage: scripts/bench/startup.sh [RUNS]   (default 10)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need
runs=${1:-10}
work=$(mktemp -d); trap 'kill $PID 2>/dev/null || true; rm -rf "$work"' EXIT
port=$(free_port)
cd "$ROOT"
# First run creates and seeds the folder; it is not measured.
start_and_wait "$work/first.log" "$BIN" demo --data-dir "$work/data" --listen "127.0.0.1:$port"
kill -TERM "$PID"; wait "$PID" || true
times=()
for i in $(seq 1 "$runs"); do
  start=$(date +%s%N)
  "$BIN" demo --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/run.log" 2>&1 &
  PID=$!
  until curl -sf -o /dev/null -H "host: localhost" "http://127.0.0.1:$port/readyz"; do sleep 0.005; done
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
  kill -TERM "$PID"; wait "$PID" || true
done
printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "readyz after start (ms): min %d  median %d  max %d  (%d runs)\n", a[1], a[int((NR + 1) / 2)], a[NR], NR }'
