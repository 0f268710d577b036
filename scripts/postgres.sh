#!/usr/bin/env bash
# Prints the URL of a PostgreSQL server the test suites may create databases on, starting
# one if needed; prints nothing (and says why on stderr) when none can be had.
#   1. $ATELIER_TEST_POSTGRES_URL, if set
#   2. a server already answering on 127.0.0.1:5432 (trust auth, user postgres)
#   3. the machine's own cluster, started with pg_ctlcluster
#   4. a throwaway cluster in target/pg-test on port 54329, from the installed binaries
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

answers() { # url
  command -v psql >/dev/null && psql "$1" -qtAc 'SELECT 1' >/dev/null 2>&1
}

if [[ -n "${ATELIER_TEST_POSTGRES_URL:-}" ]]; then
  if answers "$ATELIER_TEST_POSTGRES_URL"; then
    echo "$ATELIER_TEST_POSTGRES_URL"; exit 0
  fi
  echo "postgres: ATELIER_TEST_POSTGRES_URL is set but does not answer" >&2
  exit 1
fi

local_url="postgres://postgres@127.0.0.1:5432/postgres"
if answers "$local_url"; then echo "$local_url"; exit 0; fi

if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
  for _ in $(seq 1 20); do
    if answers "$local_url"; then echo "$local_url"; exit 0; fi
    sleep 0.5
  done
fi

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [[ -n "$bin" && -x "$bin/initdb" ]]; then
  dir="$root/target/pg-test"
  port=54329
  url="postgres://postgres@127.0.0.1:$port/postgres"
  if answers "$url"; then echo "$url"; exit 0; fi
  run=()
  if [[ $(id -u) -eq 0 ]]; then
    # initdb refuses to run as root; the cluster belongs to the postgres user.
    id postgres >/dev/null 2>&1 || { echo "postgres: no postgres user to run a cluster as" >&2; exit 0; }
    run=(runuser -u postgres --)
    mkdir -p "$dir" && chown postgres "$dir"
  fi
  if [[ ! -f "$dir/PG_VERSION" ]]; then
    "${run[@]}" "$bin/initdb" -D "$dir" -U postgres --auth=trust >/dev/null 2>&1 \
      || { echo "postgres: initdb failed in $dir" >&2; exit 0; }
  fi
  "${run[@]}" "$bin/pg_ctl" -D "$dir" -l "$dir/log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null 2>&1 || true
  if answers "$url"; then echo "$url"; exit 0; fi
  echo "postgres: the throwaway cluster in $dir did not start (see $dir/log)" >&2
  exit 0
fi

echo "postgres: no server answers and no PostgreSQL binaries are installed" >&2
exit 0
