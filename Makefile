# configure-edge: the two commands are `make dev` and `make test`.
# Every target sets up what it needs first (scripts/setup.sh, idempotent).
.PHONY: dev test reliability bench setup build pkg deploy-check clean

## Run the Worker locally on http://127.0.0.1:8787 (wrangler dev, simulated KV).
dev:
	@bash scripts/dev.sh

## Run every test: native cargo tests, wasm-bindgen tests in Node, workerd end-to-end.
test:
	@bash scripts/test.sh

## Prove it holds: schemathesis, fuzzing, faults, load, abuse, secrets scan; one summary table.
reliability:
	@bash scripts/reliability.sh

## Benchmarks side by side with the official SDK and a JS Worker (one table; not pass/fail).
bench:
	@bash scripts/bench.sh

## Install the toolchain into .tools and node_modules (skips what is there).
setup:
	@bash scripts/setup.sh

## Build the Worker into build/ (worker-build, offline).
build: setup
	@bash scripts/build-worker.sh

## Build the npm package configure-edge into pkg/: the JS/TS helpers (build-pkg.sh, which
## build-worker.sh runs first) and the built Worker as configure-edge/worker (pkg/worker/).
pkg: setup
	@bash scripts/build-worker.sh

## Check the deploy bundle offline (wrangler deploy --dry-run) and print its size.
deploy-check: build
	@bash scripts/deploy-check.sh

clean:
	rm -rf build target pkg dist .wrangler
