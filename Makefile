# Depot build and test entry points. `make test` is the command the README and CI run.
GO ?= go

.PHONY: all build test test-short fuzz dev bench

all: build

build:
	$(GO) build -o bin/ ./cmd/...

# All tests, with the race detector: unit, fuzz seed corpora, end-to-end and process tests.
test:
	$(GO) test -race -count=1 ./...

test-short:
	$(GO) test -count=1 ./...

# Run the single-node quick start: tracker-less storage on 127.0.0.1, data in ./depot-data.
dev:
	$(GO) run ./cmd/storage -dev

bench:
	$(GO) run ./bench
