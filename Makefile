# chorus-elt — build, test, demo.
GO      ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)
BIN     ?= bin/chorus-elt
PKGS    := ./...

.PHONY: build test vet lint demo fuzz clean

build:
	$(GO) build -o $(BIN) ./cmd/chorus-elt

vet:
	$(GO) vet $(PKGS)
	@unformatted=$$($(dir $(GO))gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

# golangci-lint v2 with the checks in .golangci.yml (errcheck, staticcheck,
# revive, errorlint, import grouping, ...), installed into GOPATH/bin at the
# pinned version when it is not there (a first install takes a few minutes).
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT ?= $(shell $(GO) env GOPATH)/bin/golangci-lint
lint:
	@$(GOLANGCI_LINT) version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%)" \
	  || $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	$(GOLANGCI_LINT) run ./...

# The whole suite, then the race detector on the connector packages
# (the concurrent detail fetches, the shared rate budget, the simulated tenant).
test: vet lint
	@GO=$(GO) ./warehouse/bqemulator/build.sh --print-path | xargs test -x \
	  || echo "note: the BigQuery emulator is not built, its tests skip (make bqemulator, or make test-bigquery)"
	$(GO) test -count=1 -timeout 30m $(PKGS)
	$(GO) test -count=1 -race ./connector/...

# Builds, syncs a simulated tenant (in-process: no key, no network) into
# ./chorus.duckdb and prints what it built.
demo: build
	./$(BIN) --log-level warn demo --db ./chorus.duckdb

# Short coverage-guided fuzzing of every target: response decoding, the
# listing loop (continuation keys), state parsing, the customers CSV.
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./connector/streamrows/ -run '^$$' -fuzz '^FuzzEngagementPage$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connector/streamrows/ -run '^$$' -fuzz '^FuzzConversation$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connector/engine/ -run '^$$' -fuzz '^FuzzListing$$' -fuzztime $(FUZZTIME)
	$(GO) test ./connector/state/ -run '^$$' -fuzz '^FuzzParseState$$' -fuzztime $(FUZZTIME)
	$(GO) test ./transforms/ -run '^$$' -fuzz '^FuzzCustomersCSV$$' -fuzztime $(FUZZTIME)

clean:
	rm -rf bin chorus.duckdb chorus.duckdb.wal chorus-data

.PHONY: bench chaos

# Performance figures against the simulated tenant, printed as a table
# (cmd/chorus-bench): the issues' sizes, about 7 minutes on 2 cores;
# BENCH_SCALE=small for a quick check. BENCH_FLAGS passes more flags:
# -only 3,4,5 measures some figures, -calls 5000 (or 5000,20000) sets the
# sizes of figures 3–5, -db FILE runs figures 5 and 8 on an existing warehouse,
# -json bench.json -keep keep what it measured.
bench: build
	$(GO) build -o bin/chorus-bench ./cmd/chorus-bench
	./bin/chorus-bench -bin $(BIN) $(BENCH_FLAGS)

# The crash test at full size: `chorus-elt run` against a faulty simulated
# tenant of 300 calls, SIGKILLed 25 times across extract, load and transform,
# then let finish; prints the kills per phase and the diff against a clean
# run (empty). At 8 requests/s the back-fill (about 40 s) outlasts the 30 s
# Parquet commit interval, so some extract kills come after a commit (shown
# as extract-after-commit) and the next run resumes from that checkpoint.
# `make test` runs a small version (5 kills, 40 calls).
CHAOS_FLAGS ?= -chaos.kills=25 -chaos.calls=300 -chaos.rps=8
chaos:
	$(GO) test -count=1 -run '^TestChaos$$' -v -timeout 30m ./cmd/chorus-elt $(CHAOS_FLAGS)

.PHONY: bqemulator test-bigquery

# The BigQuery emulator (github.com/goccy/bigquery-emulator, pinned by
# warehouse/bqemulator/go.mod), built once per machine into
# ${XDG_CACHE_HOME:-~/.cache}/chorus-elt/bigquery-emulator/<go.sum hash>-<os>-<arch>/
# (about 5 minutes and ~6 GB of RAM on 2 cores; nothing when it is there).
# Prints the binary's path. Without it the emulator tests skip
# (CHORUS_ELT_REQUIRE_BQ_EMULATOR=1 makes them fail instead).
bqemulator:
	GO=$(GO) ./warehouse/bqemulator/build.sh

# The BigQuery path executed against the emulator: loads, MERGE, state,
# every model compared with DuckDB's rows, and the CLI pointed at it by
# BIGQUERY_EMULATOR_HOST (about 8 minutes on 2 cores). `make test` runs the
# same tests when the emulator is built.
test-bigquery: bqemulator
	CHORUS_ELT_REQUIRE_BQ_EMULATOR=1 $(GO) test -count=1 -timeout 30m -run 'Emulator' -v ./warehouse/ ./cmd/chorus-elt/
