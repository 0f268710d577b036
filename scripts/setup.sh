#!/usr/bin/env bash
# Installs what building and testing atelier needs, and only what is missing, so a second
# run takes seconds. Usage: scripts/setup.sh [--test | --bench]
#   always: the wasm32 target, cargo-leptos 0.3.10, wasm-bindgen-cli matching Cargo.lock,
#           npm binaryen (wasm-opt for release builds)
#   --test: also Debian's Chromium and the npm Playwright package for the browser suite
#   --bench: also Debian's wrk (the load generator of the search benchmark)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
want_test=0
want_bench=0
[[ "${1:-}" == "--test" ]] && want_test=1
[[ "${1:-}" == "--bench" ]] && want_bench=1

say() { printf '\033[1;34msetup:\033[0m %s\n' "$*"; }

as_root() {
  if [[ $(id -u) -eq 0 ]]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "setup: need root to run: $*" >&2; return 1
  fi
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# cargo-leptos 0.3.11 needs a newer Rust than this toolchain; 0.3.10 works offline with
# no_downloads (tools come from PATH instead of GitHub).
if ! cargo leptos --version 2>/dev/null | grep -q '0\.3\.10'; then
  say "installing cargo-leptos 0.3.10 (takes a while, once)"
  cargo install cargo-leptos --version 0.3.10 --locked --features no_downloads
fi

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock.
wb_version=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [[ -z "$wb_version" ]]; then
  echo "setup: cannot find wasm-bindgen in Cargo.lock" >&2
  exit 1
fi
if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wb_version"; then
  say "installing wasm-bindgen-cli $wb_version"
  # Not --locked: the registry mirror lacks one of its locked dependencies.
  cargo install wasm-bindgen-cli --version "$wb_version" --force
fi

npm_install() { # dir
  local dir="$1"
  if [[ ! -d "$dir/node_modules" || "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]]; then
    say "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# Debian's binaryen 108 makes WASM that fails to hydrate; npm's binaryen 132 is good.
npm_install scripts/tools

if [[ $want_test -eq 1 ]]; then
  if [[ ! -x /usr/bin/chromium ]]; then
    say "installing Debian's chromium"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
  fi
  npm_install end2end
fi

if [[ $want_bench -eq 1 ]] && ! command -v wrk >/dev/null; then
  say "installing Debian's wrk"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
