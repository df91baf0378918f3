#!/usr/bin/env bash
# Console redraw time and memory: drives tessera-console in tmux (120x40) against `tessera demo` on SQLite —
# log in, then 40 rounds of: every screen, a member search, a member page and its lists, the help overlay — and
# reports the console's own per-frame draw statistics (TESSERA_CONSOLE_FRAME_STATS: count, p50, p99, max) and its
# peak RSS (VmHWM). Targets: p99 < 16 ms, VmHWM < 30 MB.
#   TESSERA_BIN=... CONSOLE_BIN=... scripts/bench/console.sh
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${TESSERA_BIN:-$ROOT/target/release/tessera}
CONSOLE=${CONSOLE_BIN:-$(dirname "$BIN")/tessera-console}
command -v tmux >/dev/null || { apt-get update -qq && apt-get install -y -qq tmux >/dev/null; }
[ -x "$BIN" ] && [ -x "$CONSOLE" ] || (cd "$ROOT" && cargo build --release -p tessera-cli -p tessera-console)
WORK=$(mktemp -d)
SESSION=console-bench-$$
cleanup() { tmux kill-session -t "$SESSION" 2>/dev/null || true; [ -n "${PID:-}" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
(cd "$ROOT" && env -u TESSERA_DATABASE_URL -u TESSERA_CONFIG "$BIN" demo --data-dir "$WORK/data" --listen 127.0.0.1:0 >"$WORK/demo.log" 2>/dev/null) &
PID=$!
for _ in $(seq 1 600); do
  ADDR=$(sed -n 's/^listening on http:\/\///p' "$WORK/demo.log" | head -n 1)
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { echo "demo did not start" >&2; exit 1; }
wait_for() { for _ in $(seq 1 150); do tmux capture-pane -p -t "$SESSION" | grep -q "$1" && return 0; sleep 0.2; done; echo "never saw $1" >&2; exit 1; }
tmux new-session -d -x 120 -y 40 -s "$SESSION" \
  "TESSERA_CONSOLE_CONFIG=$WORK/c.toml TESSERA_CONSOLE_FRAME_STATS=$WORK/frames.txt $CONSOLE --server http://$ADDR --tenant atlas --email admin@atlas.demo & echo \$! > $WORK/console.pid; wait; sleep 30"
wait_for Password
tmux send-keys -t "$SESSION" -l tessera-demo-2026; tmux send-keys -t "$SESSION" Enter
wait_for "logged in"
CPID=$(cat "$WORK/console.pid")
# API calls run in the background: a short pause after each key lets the answers arrive and be drawn, so the
# frames measured are of loaded screens, not of screens waiting for data.
key() { tmux send-keys -t "$SESSION" "$@"; sleep 0.05; }
for _ in $(seq 1 40); do
  for k in 1 3 4 5 6 2; do key "$k"; done
  key /; key -l a; key Enter
  key Enter; key Right; key Right; key Down; key Up; key Escape; key '?'; key x
done
tmux send-keys -t "$SESSION" 2; wait_for "Search"
HWM=$(grep VmHWM "/proc/$CPID/status")
tmux send-keys -t "$SESSION" q
for _ in $(seq 1 100); do [ -s "$WORK/frames.txt" ] && break; sleep 0.1; done
echo "console: $(cat "$WORK/frames.txt")"
echo "console peak RSS before quitting: $HWM"
