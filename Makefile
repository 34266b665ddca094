# The two commands of the README: `make run` starts Rewind, `make test` runs every test.
SWIFT ?= swift
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: run test build release bench bootstrap

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	$(SWIFT) build

release: bootstrap
	$(SWIFT) build -c release

run: release
	$(SWIFT) run -c release rewind run examples/quickstart.json

test: bootstrap
	$(SWIFT) test

bench: release
	$(SWIFT) run -c release rewind bench
