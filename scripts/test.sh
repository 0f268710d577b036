#!/usr/bin/env bash
# Every check atelier has, in the order a failure is cheapest to find:
# format, lints, the release build, unit and integration tests on SQLite and Postgres,
# and the browser suite in Chromium against the release binary. This is what `make test`
# and CI run.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
scripts/setup.sh --test

# The flags cargo-leptos uses for debug builds, so clippy and the tests share one build cache.
export RUSTFLAGS="--cfg erase_components"
export LEPTOS_OUTPUT_NAME=atelier
export PATH="$root/scripts/tools/node_modules/.bin:$PATH"

step() { printf '\n\033[1;35m==> %s\033[0m (at %dm%02ds)\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }
skipped=()

step "format"
cargo fmt --all --check

step "module imports (no module imports one that imports it back)"
python3 scripts/module-cycles.py app/src server/src frontend/src

step "clippy: app and server (ssr)"
cargo clippy -p app -p server --all-targets -- -D warnings
step "clippy: frontend (hydrate, wasm32)"
cargo clippy -p app -p frontend --features hydrate --target wasm32-unknown-unknown -- -D warnings

step "build: the release binary (cargo leptos build --release)"
# What users run, and what the browser suite below runs. Release builds do not erase
# component types, so some errors (a view's type too deep) appear only here. No debug
# `cargo leptos build`: clippy has checked the WASM build and `cargo test` builds the
# debug server, which embeds this build's front end from target/site.
env -u RUSTFLAGS cargo leptos build --release

step "postgres"
pg_url="$(scripts/postgres.sh || true)"
if [[ -n "$pg_url" ]]; then
  echo "using $pg_url"
  export ATELIER_TEST_POSTGRES_URL="$pg_url"
else
  skipped+=("every Postgres suite: no PostgreSQL server could be found or started")
fi

step "unit and integration tests (SQLite${pg_url:+ and Postgres})"
# The tests that run the binary (limits, crashes, floods, the CLI) run the release build.
ATELIER_TEST_BINARY="$root/target/release/atelier" cargo test -p app -p server

step "browser tests against the release binary (Chromium${pg_url:+, SQLite and Postgres})"
(cd end2end && npx playwright test)

if ((${#skipped[@]})); then
  printf '\n\033[1;33mSKIPPED:\033[0m %s\n' "${skipped[@]}"
fi
printf '\n\033[1;32mall checks passed\033[0m in %dm%02ds\n' $((SECONDS / 60)) $((SECONDS % 60))
