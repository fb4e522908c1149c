# chorus-elt — build, test, demo.
GO      ?= go
BIN     ?= bin/chorus-elt
PKGS    := ./...

.PHONY: build test vet demo clean

build:
	$(GO) build -o $(BIN) ./cmd/chorus-elt

vet:
	$(GO) vet $(PKGS)
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

# The whole suite, then the race detector on the connector packages
# (the concurrent detail fetches, the shared rate budget, the simulated tenant).
test: vet
	$(GO) test -count=1 $(PKGS)
	$(GO) test -count=1 -race ./connector/...

# Builds, syncs a simulated tenant (in-process: no key, no network) into
# ./chorus.duckdb and prints what it built.
demo: build
	./$(BIN) --log-level warn demo --db ./chorus.duckdb

clean:
	rm -rf bin chorus.duckdb chorus.duckdb.wal chorus-data
