#!/usr/bin/env bash
# Upload then download of one large sensitive file (video_recording: encrypted with the tenant's data key on the
# way in, decrypted on the way out) through `tessera serve` with curl, sampling the server's resident memory every
# 100 ms: idle before, peak during each transfer. Checks the download is byte-identical.
# Usage: scripts/bench/storage.sh local|s3 [SIZE_MB]   (default 1024 MB; s3 starts moto's server on loopback)
# The binary is target/release/tessera unless TESSERA_BIN names another.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${TESSERA_BIN:-$ROOT/target/release/tessera}
store=${1:-local}
size_mb=${2:-1024}
[ -x "$BIN" ] || { echo "$BIN is missing: cargo build --release -p tessera-cli (or set TESSERA_BIN)" >&2; exit 1; }
export TESSERA_SECRETS__MASTER_KEY=${TESSERA_SECRETS__MASTER_KEY:-$(python3 -c 'import base64,os; print(base64.b64encode(os.urandom(32)).decode())')}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
cd "$ROOT"

export TESSERA_DATABASE_URL="sqlite://$work/tessera.db"
export TESSERA_STORAGE__LOCAL_DIR="$work/files"
export TESSERA_LOG__FILTER=warn
case "$store" in
  local) ;;
  s3)
    python3 -c "import moto.server" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check 'moto[server]'
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    python3 -m moto.server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 & pids+=("$!")
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    python3 -c "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:$port', region_name='us-east-1', aws_access_key_id='bench', aws_secret_access_key='bench').create_bucket(Bucket='bench')"
    export TESSERA_STORAGE__BACKEND=s3 TESSERA_STORAGE__S3__ENDPOINT="http://127.0.0.1:$port" \
      TESSERA_STORAGE__S3__REGION=us-east-1 TESSERA_STORAGE__S3__BUCKET=bench TESSERA_STORAGE__S3__FORCE_PATH_STYLE=true \
      TESSERA_STORAGE__S3__ACCESS_KEY_ID=bench TESSERA_STORAGE__S3__SECRET_ACCESS_KEY=bench
    ;;
  *) echo "usage: $0 local|s3 [SIZE_MB]" >&2; exit 2 ;;
esac
"$BIN" migrate >/dev/null
"$BIN" tenant apply tenants >/dev/null
echo "bench-password-2026" | "$BIN" user create --tenant atlas --email bench@atlas.test --name Bench --role member --password-stdin >/dev/null

"$BIN" serve --listen 127.0.0.1:0 >"$work/serve.log" 2>"$work/serve.err" & pid=$!; pids+=("$pid")
for _ in $(seq 1 300); do addr=$(sed -n 's/^listening on http:\/\///p' "$work/serve.log" | head -n 1); [ -n "$addr" ] && break; sleep 0.05; done
[ -n "${addr:-}" ] || { cat "$work/serve.err" >&2; exit 1; }
token=$(curl -sf -H "host: atlas.localhost" -H 'content-type: application/json' \
  -d '{"email":"bench@atlas.test","password":"bench-password-2026"}' "http://$addr/api/v1/auth/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$work/big.mp4"
expected=$(sha256sum "$work/big.mp4" | cut -d' ' -f1)
# A small upload and download first, so that "idle" is a server that has served files.
head -c 100000 /dev/urandom >"$work/small.mp4"
small=$(curl -sf -X POST -T "$work/small.mp4" -H "host: atlas.localhost" -H "authorization: Bearer $token" \
  -H 'content-type: video/mp4' "http://$addr/api/v1/files?purpose=video_recording" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
curl -sf -o /dev/null -H "host: atlas.localhost" -H "authorization: Bearer $token" "http://$addr/api/v1/files/$small/content"
sleep 1
rss_kb() { awk '/VmRSS/ { print $2 }' "/proc/$pid/status"; }
idle=$(rss_kb)

# sample FILE: writes the highest VmRSS seen every 100 ms into FILE until killed.
sample() { local max=0 now; while true; do now=$(rss_kb); [ "$now" -gt "$max" ] && { max=$now; echo "$max" >"$1"; }; sleep 0.1; done; }

sample "$work/up.peak" & sampler=$!
up=$(curl -sf -X POST -T "$work/big.mp4" -H "host: atlas.localhost" -H "authorization: Bearer $token" \
  -H 'content-type: video/mp4' -w '\n%{time_total} %{speed_upload}' "http://$addr/api/v1/files?purpose=video_recording&filename=big.mp4")
kill "$sampler"; wait "$sampler" 2>/dev/null || true
id=$(head -n 1 <<<"$up" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
read -r up_secs up_speed <<<"$(tail -n 1 <<<"$up")"

sample "$work/down.peak" & sampler=$!
down=$( { curl -sf -H "host: atlas.localhost" -H "authorization: Bearer $token" -w '%{time_total} %{speed_download}' \
  -o >(sha256sum | cut -d' ' -f1 >"$work/down.sha") "http://$addr/api/v1/files/$id/content"; } )
kill "$sampler"; wait "$sampler" 2>/dev/null || true
sleep 1
read -r down_secs down_speed <<<"$down"
[ "$(cat "$work/down.sha")" = "$expected" ] || { echo "the download differs from the upload" >&2; exit 1; }

mb() { python3 -c "print(f'{$1 / 1024:.1f}')"; }
echo "store: $store, file: $size_mb MiB (video_recording, encrypted), binary: $BIN"
echo "upload:   ${up_secs} s  $(python3 -c "print(f'{$up_speed / 1048576:.0f}')") MiB/s  peak RSS $(mb "$(cat "$work/up.peak")") MB"
echo "download: ${down_secs} s  $(python3 -c "print(f'{$down_speed / 1048576:.0f}')") MiB/s  peak RSS $(mb "$(cat "$work/down.peak")") MB  (sha256 identical)"
peak=$(sort -n "$work/up.peak" "$work/down.peak" | tail -n 1)
echo "idle RSS $(mb "$idle") MB, peak $(mb "$peak") MB: +$(mb $((peak - idle))) MB above idle (VmHWM $(awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status") MB)"
