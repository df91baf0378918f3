#!/usr/bin/env bash
# Member search: N members imported with `tessera member import` (French names with accents, phones, e-mails),
# then GET /api/v1/members?q=... by a staff account under wrk, each request a different query (name prefixes
# of 2 to 6 letters typed without accents, full names, phone and e-mail prefixes, two-word queries).
# Usage: [CONNECTIONS=N] scripts/bench/members.sh sqlite|postgres [MEMBERS] [SECONDS]   (default 100000 members, 10 s, 16 connections)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
need
backend=${1:-sqlite}
members=${2:-100000}
seconds=${3:-10}
bench_database "$backend"
echo "bench-password-2026" | "$BIN" user create --tenant atlas --email desk@atlas.test --name Desk --role staff --password-stdin >/dev/null

python3 - "$members" "$work" <<'PY'
import csv, random, sys
n, work = int(sys.argv[1]), sys.argv[2]
random.seed(42)
given = ["Hélène", "Chloé", "Zoé", "Léa", "Inès", "Noémie", "Gaëlle", "Anaïs", "Jérôme", "François", "Loïc", "Théo",
         "Raphaël", "Mathéo", "Noël", "Benoît", "Céline", "Mélanie", "Ève", "Maëlle", "Camille", "Hugo", "Lucas",
         "Emma", "Nathan", "Sarah", "Yanis", "Manon", "Louis", "Jade", "Arthur", "Louise", "Jules", "Alice", "Adam"]
family = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
          "Simon", "Laurent", "Lefèvre", "Michel", "García", "David", "Bertrand", "Roux", "Vincent", "Fournier",
          "Morel", "Girard", "André", "Lefebvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martínez",
          "Légaré", "Bérubé", "Gagné", "Côté", "Pelletier", "Bélanger", "Lévesque", "Bégin", "Dupré", "Hébert"]
rows, queries = [], []
with open(f"{work}/members.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["given_name", "family_name", "email", "phone", "birth_date", "locale"])
    for i in range(n):
        g, fa = random.choice(given), random.choice(family) + ("" if i % 7 else "-" + random.choice(family))
        phone = "06" + "".join(random.choice("0123456789") for _ in range(8))
        email = f"m{i}@example.org"
        w.writerow([g, fa, email, phone, f"19{random.randint(50, 99)}-0{random.randint(1, 9)}-1{random.randint(0, 9)}", "fr"])
        if i % 97 == 0:
            queries.append(phone[: random.randint(4, 10)])
            queries.append(email[: random.randint(3, 8)])
def plain(s):
    import unicodedata
    return "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c)).lower()
for _ in range(2000):
    g, fa = random.choice(given), random.choice(family)
    queries.append(plain(fa)[: random.randint(2, 6)])
    queries.append(f"{plain(g)[:3]} {plain(fa)[:4]}")
    queries.append(g)
random.shuffle(queries)
from urllib.parse import quote
with open(f"{work}/search.lua", "w") as f:
    f.write("queries = {" + ",".join('"' + quote(q) + '"' for q in queries) + "}\n")
    f.write("counter = 0\nrequest = function()\n  counter = counter + 1\n")
    f.write("  return wrk.format('GET', '/api/v1/members?limit=20&q=' .. queries[(counter % #queries) + 1])\nend\n")
print(f"{len(queries)} distinct queries")
PY
start=$(date +%s)
"$BIN" member import --tenant atlas "$work/members.csv"
echo "import: $(( $(date +%s) - start )) s"

start_and_wait "$work/serve.log" "$BIN" serve --listen 127.0.0.1:0; pids+=("$PID"); serve_addr=$ADDR
token=$(curl -sf -H "host: atlas.localhost" -H 'content-type: application/json' \
  -d '{"email":"desk@atlas.test","password":"bench-password-2026"}' "http://$serve_addr/api/v1/auth/token" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf -H "host: atlas.localhost" -H "authorization: Bearer $token" "http://$serve_addr/api/v1/members?q=lef&limit=3" >/dev/null
wrk -t"${WRK_THREADS:-2}" -c"${CONNECTIONS:-16}" -d"${seconds}s" --latency -s "$work/search.lua" -H "Host: atlas.localhost" \
  -H "authorization: Bearer $token" "http://$serve_addr" >"$work/search.wrk"
read -r rps p50 p99 errors <<<"$(wrk_summary "$work/search.wrk")"
echo "backend: $backend, $members members, wrk -t${WRK_THREADS:-2} -c${CONNECTIONS:-16} -d${seconds}s"
echo "GET /api/v1/members?q=...: $rps req/s  p50 ${p50} ms  p99 ${p99} ms  non-2xx $errors"
