#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on a free loopback port, for tests and benchmarks.
#   source scripts/lib/pg-cluster.sh; pg_cluster_start DIR   -> exports TESSERA_TEST_PG_URL (superuser URL)
#   pg_cluster_stop DIR
# fsync and synchronous commit are off: the data is thrown away, and tests run several times faster.
# PG_EXTRA_OPTS adds server options (e.g. "-c shared_preload_libraries=pg_stat_statements" for a profile).
set -euo pipefail

pg_bindir() {
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir
  else
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
  fi
}

# PostgreSQL refuses to run as root; as root, run its binaries as the `postgres` system user.
pg_as_owner() {
  if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_cluster_start() {
  local dir=$1 bin port
  bin=$(pg_bindir)
  [ -x "$bin/initdb" ] || { echo "PostgreSQL server binaries not found (initdb)" >&2; return 1; }
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && { id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres; chown postgres "$dir"; }
  chmod 700 "$dir"
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    pg_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
      || { cat "$dir/initdb.log" >&2; return 1; }
  fi
  port=$(free_port)
  pg_as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300 -c shared_buffers=128MB ${PG_EXTRA_OPTS:-}" >/dev/null \
    || { cat "$dir/server.log" >&2; return 1; }
  echo "$port" > "$dir/port"
  export TESSERA_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

pg_cluster_stop() {
  local dir=$1 bin
  bin=$(pg_bindir)
  [ -f "$dir/data/postmaster.pid" ] && pg_as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
}
