# The two commands (see README): `make run` and `make test`.
SHELL := /bin/bash
export PATH := $(CURDIR)/scripts/tools/node_modules/.bin:$(PATH)

.PHONY: run test release setup bench clean-data

## Build the release binary, add demo content to an empty instance, serve on :3000.
run: release
	./target/release/atelier seed-demo --count 200 --if-empty
	./target/release/atelier serve

## Every check: fmt, clippy, tests on SQLite and Postgres, the browser suite.
test:
	scripts/test.sh

## Benchmarks (not part of `make test`): figures printed and written to target/bench/.
bench:
	scripts/setup.sh --bench
	cargo bench -p server --bench thumbnail
	cargo bench -p server --bench upload
	cargo bench -p server --bench search
	cargo bench -p server --bench stats
	cargo bench -p server --bench migrate
	cargo bench -p server --bench bulk

## The single self-contained binary: target/release/atelier
release: setup
	cargo leptos build --release

setup:
	scripts/setup.sh
