#!/usr/bin/env bash
# Starts atelier for the browser suite the way a user would run the single binary: copied
# alone into an empty directory, seeded with demo data, then served.
# Usage: scripts/e2e-server.sh sqlite|postgres PORT
# The binary is the release one (`cargo leptos build --release`), in $CARGO_TARGET_DIR if
# set; ATELIER_E2E_BINARY names another (relative to the repository), e.g. target/debug/atelier
# after a quicker `cargo leptos build`.
set -euo pipefail

backend="$1"
port="$2"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
binary="$(realpath -m "${ATELIER_E2E_BINARY:-${CARGO_TARGET_DIR:-target}/release/atelier}")"
[[ -x "$binary" ]] || { echo "e2e-server: build first: $binary is missing" >&2; exit 1; }

dir="$(mktemp -d -t atelier-e2e-XXXXXX)"
cp "$binary" "$dir/atelier"
cd "$dir"

if [[ "$backend" == postgres ]]; then
  admin="${ATELIER_TEST_POSTGRES_URL:?ATELIER_TEST_POSTGRES_URL is needed for the postgres backend}"
  db="atelier_e2e_$port"
  psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
  export DATABASE_URL="${admin%/*}/$db"
else
  unset DATABASE_URL
fi

cleanup() {
  [[ -n "${server:-}" ]] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  cd / && rm -rf "$dir"
  if [[ -n "${db:-}" ]]; then
    psql "$admin" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 0' TERM INT

./atelier seed-demo --count 60 --seed 7
# The instance's admin (the browser tests log in as it; see end2end/tests/helpers.ts).
printf '%s\n' 'violet tractor sings' | ./atelier user create curator --admin --password-stdin >/dev/null
# A test machine may have less free disk than the default floor keeps (512 MiB).
./atelier settings set min_free_disk 1MiB >/dev/null
# Every visitor of the browser suite comes from 127.0.0.1, so the per-client rate limits
# would count the whole suite as one person: raise them (the server tests check the limits).
./atelier serve --addr "127.0.0.1:$port" \
  --rate-register 1000/hour --rate-upload-start 1000/minute \
  --rate-search 10000/minute --rate-facets 10000/minute &
server=$!
wait "$server"
