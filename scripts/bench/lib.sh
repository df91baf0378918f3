#!/usr/bin/env bash
# Shared helpers of the benchmarks. Everything runs on loopback and stops by itself.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${TESSERA_BIN:-$ROOT/target/release/tessera}
HELLO=${HELLO_BIN:-$ROOT/target/release/examples/hello}
source "$ROOT/scripts/lib/pg-cluster.sh"

need() {
  command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
  [ -x "$BIN" ] && [ -x "$HELLO" ] || (cd "$ROOT" && cargo build --release --bins --examples -p tessera-cli -p tessera-server)
}

# start_and_wait LOGFILE CMD...: starts CMD in the background, waits for its "listening on http://ADDR" line and
# sets PID and ADDR.
start_and_wait() {
  local log=$1; shift
  "$@" >"$log" 2>"$log.err" &
  PID=$!
  for _ in $(seq 1 300); do
    ADDR=$(sed -n 's/^listening on http:\/\///p' "$log" | head -n 1)
    [ -n "$ADDR" ] && return 0
    kill -0 "$PID" 2>/dev/null || { cat "$log.err" >&2; return 1; }
    sleep 0.05
  done
  echo "did not start: $*" >&2
  return 1
}

# Benchmarks run with a throwaway master key of their own.
export TESSERA_SECRETS__MASTER_KEY=${TESSERA_SECRETS__MASTER_KEY:-$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')}

# cpu_secs PID: CPU seconds (user + system) PID has used so far.
cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# machine_cpu_secs: CPU seconds every process of the machine has used so far (the first line of /proc/stat: user,
# nice, system, irq, softirq and steal; idle and I/O wait left out).
machine_cpu_secs() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.3f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat; }

# written_bytes PID: bytes PID has passed to write calls so far (on SQLite mostly log pages and the checkpoints'
# copies of them; on PostgreSQL mostly responses, since PostgreSQL writes its own files).
written_bytes() { awk '/^wchar:/ { print $2 }' "/proc/$1/io"; }

# context_switches PID: the context switches of PID's threads so far, "voluntary involuntary" (a thread that has
# exited meanwhile takes its count with it: tokio's idle blocking threads leave after 10 s).
context_switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^voluntary_ctxt_switches/ { v += $2 } /^nonvoluntary_ctxt_switches/ { n += $2 } END { print v + 0, n + 0 }'
}

# pg_cpu_secs DIR: CPU seconds the PostgreSQL cluster in DIR (pg_cluster_start's) has used so far: its postmaster and
# the processes it started that are still running (the pool's backends live as long as the server).
pg_cpu_secs() {
  local postmaster stats=() pid; postmaster=$(head -1 "$1/data/postmaster.pid")
  for pid in "$postmaster" $(pgrep -P "$postmaster"); do stats+=("/proc/$pid/stat"); done
  # A backend that ends meanwhile is left out (awk cannot open its file).
  awk -v hz="$(getconf CLK_TCK)" '{ s += $14 + $15 } END { printf "%.3f", s / hz }' "${stats[@]}" 2>/dev/null
}

rss_mb() { awk '/VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# wrk_summary OUTPUT: "rps p50 p99" from wrk --latency output (latencies in ms).
wrk_summary() {
  python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s)", v)
    n, u = float(m.group(1)), m.group(2)
    return n / 1000 if u == "us" else n * 1000 if u == "s" else n
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = ms(re.search(r"\n\s+50%\s+(\S+)", text).group(1))
p99 = ms(re.search(r"\n\s+99%\s+(\S+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"{rps:.0f} {p50:.2f} {p99:.2f} {errors.group(1) if errors else 0}")
PY
}

# bench_database BACKEND: a throwaway database of BACKEND (sqlite or postgres) in a fresh folder $work, migrated,
# with the brands of tenants/ applied. Sets work, url and TESSERA_DATABASE_URL and works from the repository's
# root. When the script exits, the servers whose pids it added to `pids` are stopped, the PostgreSQL cluster too,
# and the folder is removed.
bench_database() {
  case "$1" in
    sqlite|postgres) backend=$1 ;;
    *) sed -n 's/^#.*Usage: /usage: /p' "$0" >&2; exit 2 ;;
  esac
  work=$(mktemp -d); chmod 755 "$work"
  pids=()
  trap bench_cleanup EXIT
  cd "$ROOT"
  if [ "$backend" = sqlite ]; then
    url="sqlite://$work/tessera.db"
  else
    pg_cluster_start "$work/pg"
    url="${TESSERA_TEST_PG_URL%/postgres}/postgres"
  fi
  export TESSERA_DATABASE_URL=$url
  "$BIN" migrate >/dev/null
  "$BIN" tenant apply tenants >/dev/null
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ "$backend" = postgres ] && pg_cluster_stop "$work/pg"
  rm -rf "$work"
}

# PG_STATS=1: PostgreSQL benchmarks load pg_stat_statements; pg_stats_report prints the statements that took the
# most time (call it before the cluster stops). Set PG_EXTRA_OPTS before pg_cluster_start.
if [ -n "${PG_STATS:-}" ]; then
  export PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on ${PG_EXTRA_OPTS:-}"
fi
pg_stats_reset() {
  [ -n "${PG_STATS:-}" ] || return 0
  "$(pg_bindir)/psql" -q "$TESSERA_TEST_PG_URL" -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
    -c "SELECT pg_stat_statements_reset()" >/dev/null
}
pg_stats_report() {
  [ -n "${PG_STATS:-}" ] || return 0
  "$(pg_bindir)/psql" "$TESSERA_TEST_PG_URL" -c "SELECT calls, plans, round(total_exec_time::numeric) AS total_ms,
    round(mean_exec_time::numeric, 3) AS mean_ms, round(total_plan_time::numeric) AS plan_ms,
    left(regexp_replace(query, '\s+', ' ', 'g'), 120) AS query
    FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 25"
}
