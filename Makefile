# The two commands of the README: `make run` starts the Rewind service, `make test` runs every test.
SWIFT ?= swift
export OPENBLAS_NUM_THREADS ?= 1
# The rewind binary pins OpenBLAS's kernel family (it re-executes itself with OPENBLAS_CORETYPE set);
# tests that compare in-process results with the binary's load the same family.
export OPENBLAS_CORETYPE ?= $(shell bash scripts/blas-family.sh)

.PHONY: run test build release install install-binary bench bench-http bench-queue example bootstrap docker-smoke format check-format

bootstrap:
	@bash scripts/bootstrap.sh

build: bootstrap
	$(SWIFT) build

release: bootstrap
	$(SWIFT) build -c release --product rewind

# Puts the release `rewind` on the PATH: $(PREFIX)/bin (default /usr/local/bin; PREFIX=~/.local for no root).
PREFIX ?= /usr/local
# Where the built binary is; install-binary alone installs an existing build (the tests use it).
BIN_PATH ?= $$($(SWIFT) build -c release --show-bin-path)
install: release install-binary
install-binary:
	install -D -m 755 "$(BIN_PATH)/rewind" "$(DESTDIR)$(PREFIX)/bin/rewind"

# The service on http://127.0.0.1:8080 with its SQLite file ./rewind.sqlite (REWIND_* variables
# apply; PORT=N or REWIND_PORT=N picks the port, 0 a free one). Its first line names the address.
run: release
	@echo "make run: rewind serve on port $${PORT:-$${REWIND_PORT:-8080}} (PORT=N or REWIND_PORT=N to change)"
	"$$($(SWIFT) build -c release --show-bin-path)/rewind" serve $${PORT:+--port $$PORT}

test: bootstrap
	$(SWIFT) test

# A tuning job in this process, without the service: history items as JSON lines on stdout.
example: release
	"$$($(SWIFT) build -c release --show-bin-path)/rewind" run examples/quickstart.json

bench: release
	"$$($(SWIFT) build -c release --show-bin-path)/rewind" bench

bench-http: release
	"$$($(SWIFT) build -c release --show-bin-path)/rewind" bench-http

# PostgreSQL too when REWIND_BENCH_POSTGRES names an empty database (postgres://...).
bench-queue: release
	"$$($(SWIFT) build -c release --show-bin-path)/rewind" bench-queue

# Builds the Docker image and checks it for real (needs a Docker engine; see docker/smoke-test.sh).
docker-smoke:
	bash docker/smoke-test.sh

# Formats the Swift sources in place as .swift-format says (`swift format` ships with the toolchain).
format:
	$(SWIFT) format format --in-place --recursive --parallel Package.swift Sources Tests Plugins

# Lists formatting findings without changing anything; non-zero when there are any.
check-format:
	bash scripts/check-format.sh
