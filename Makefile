# Parley — see README.md.
#
#   make run     a local 3-node cluster to chat on (Ctrl-C stops it)
#   make test    the whole suite: lint, race-enabled tests on real clusters,
#                short fuzz runs, the arm64 build and an arm64 smoke test,
#                and a quick benchmark run (bench-quick)
#   make build   bin/parleyd and bin/parley
#   make bench   the benchmark suite, full run (minutes; see README "Performance")
#   make bench-quick  every benchmark scenario for a few seconds (part of test)

GO          ?= go
BIN         := bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 15s

BENCHFLAGS  ?=

.PHONY: all build run test lint unit fuzz arm64 arm64-smoke bench bench-build bench-quick clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

run: build
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/parleyd dev --nodes 3

test: lint unit fuzz arm64-smoke bench-quick

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 -timeout 30m ./...

fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzFrameReader$$' -fuzztime=$(FUZZTIME) ./transport
	$(GO) test -run='^$$' -fuzz='^FuzzMsgID$$' -fuzztime=$(FUZZTIME) .
	$(GO) test -run='^$$' -fuzz='^FuzzWebFrame$$' -fuzztime=$(FUZZTIME) ./transport

arm64:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build ./...
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -o $(BIN)/linux-arm64/ ./cmd/...

# Runs the arm64 parleyd under qemu-user: it must bootstrap a node and answer
# /healthz. Needs qemu-user-static (installed by .ci/run).
arm64-smoke: arm64
	./scripts/arm64-smoke.sh $(BIN)/linux-arm64/parleyd

# The benchmark's binaries: parley-bench and parleyd (make build), the raw
# dragonboat peer, and the NATS JetStream peer, a Go module of its own so
# that Parley's go.mod does not depend on NATS.
bench-build: build
	$(GO) build -o $(BIN)/parley-rawnode ./bench/rawnode
	cd bench/natspeer && $(GO) build -o $(CURDIR)/$(BIN)/parley-natspeer .

# A full run: Parley and its peers on this machine, a table on stdout and
# the same results in bin/bench.json. Run it on a quiet machine.
bench: bench-build
	$(BIN)/parley-bench --out $(BIN)/bench.json $(BENCHFLAGS)

# Every scenario for a few seconds. It fails only if a scenario cannot run
# or the failover scenario loses or duplicates a message, never on speed.
bench-quick: bench-build
	$(BIN)/parley-bench --quick --out $(BIN)/bench-quick.json $(BENCHFLAGS)

clean:
	rm -rf $(BIN)
