# Parley — see README.md.
#
#   make run     a local 3-node cluster to chat on (Ctrl-C stops it)
#   make test    the whole suite: lint, race-enabled tests on real clusters,
#                short fuzz runs, the arm64 build and an arm64 smoke test,
#                and a quick benchmark run (bench-quick)
#   make build   bin/parleyd and bin/parley
#   make bench   the benchmark suite, full run (minutes; see README "Performance")
#   make bench-quick  every benchmark scenario for a few seconds (part of test)
#   make release dist/parley-VERSION-linux-{amd64,arm64}.tar.gz: the binaries,
#                the systemd unit, its user and config files, and the README
#   make soak    the fault suite (faults/) for SOAK (default 5m) of faults;
#                needs root, like make test

GO          ?= go
BIN         := bin
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
FUZZTIME    ?= 15s

BENCHFLAGS  ?=
SOAK        ?= 5m

# What "parley version" and "parleyd version" print (internal/buildinfo).
VERSION     ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
COMMIT      ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS     := -X github.com/parleychat/parley/internal/buildinfo.version=$(VERSION) \
               -X github.com/parleychat/parley/internal/buildinfo.commit=$(COMMIT)

.PHONY: all build run test deps lint unit fuzz arm64 arm64-smoke bench bench-build bench-quick soak release clean

all: build

# Without cgo, like the release binaries (make release): what make run and
# the benchmark start is what ships, and a node holds no libc (3 MiB less
# RSS per idle node).
build:
	CGO_ENABLED=0 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

run: build
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/parleyd dev --nodes 3

test: deps lint unit fuzz arm64-smoke bench-quick

# The Debian tools the tests drive (chromium, iptables, avahi, dig, …),
# installed if missing, so that make test is the only set-up step.
deps:
	./scripts/deps.sh

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

unit:
	$(GO) test -race -count=1 -timeout 30m ./...

fuzz:
	GO=$(GO) ./scripts/fuzz.sh FuzzFrameReader ./transport $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzMsgID . $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzDecodeMessage . $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzReadEvent ./transport $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzDNSQuery ./daemon $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzWebFrame ./transport $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzAnalyticsBodies ./transport $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzAccountBodies ./transport $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzSessionToken ./chatcore $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzParseTXT ./discovery $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzStartRequest ./mapreduce $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzRunFile ./mapreduce $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzReader ./backup $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzImportRequest ./daemon $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzDecodeRoomCommand ./chatcore $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzDecodeBatchItems ./chatcore $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzFrames ./internal/rafttcp $(FUZZTIME)
	GO=$(GO) ./scripts/fuzz.sh FuzzEncodeCommands ./chatcore $(FUZZTIME)

arm64:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build ./...
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/linux-arm64/ ./cmd/...

# Runs the arm64 parleyd under qemu-user: it must bootstrap a node and answer
# /healthz. Needs qemu-user-static (installed by .ci/run).
arm64-smoke: arm64
	./scripts/arm64-smoke.sh $(BIN)/linux-arm64/parleyd

# The benchmark's binaries: parley-bench and parleyd (make build), the raw
# dragonboat peer, and the NATS JetStream peer, a Go module of its own so
# that Parley's go.mod does not depend on NATS.
bench-build: build
	CGO_ENABLED=0 $(GO) build -o $(BIN)/parley-rawnode ./bench/rawnode
	cd bench/natspeer && $(GO) build -o $(CURDIR)/$(BIN)/parley-natspeer .

# A full run: Parley and its peers on this machine, a table on stdout and
# the same results in bin/bench.json. Run it on a quiet machine.
bench: bench-build
	$(BIN)/parley-bench --out $(BIN)/bench.json $(BENCHFLAGS)

# Every scenario for a few seconds. It fails only if a scenario cannot run
# or the failover scenario loses or duplicates a message, never on speed.
bench-quick: bench-build
	$(BIN)/parley-bench --quick --out $(BIN)/bench-quick.json $(BENCHFLAGS)

# The fault suite for longer: kill -9, SIGSTOP, restarts, partitions,
# packet loss and delay for $(SOAK) while clients send, read and subscribe,
# then porcupine checks the history. `make test` runs it for 40 s (unit).
soak:
	PARLEY_FAULTS_DURATION=$(SOAK) $(GO) test -count=1 -v -timeout 0 -run '^TestFaults$$' ./faults/

DIST        := dist
RELEASE_ARCHES := amd64 arm64

# One archive per architecture, each with a directory of the binaries, the
# files of packaging/ and the README; SHA256SUMS beside them.
release:
	rm -rf $(DIST) && mkdir -p $(DIST)
	set -e; for arch in $(RELEASE_ARCHES); do \
	  name=parley-$(VERSION)-linux-$$arch; dir=$(DIST)/$$name; mkdir -p $$dir; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $$dir/ ./cmd/parleyd ./cmd/parley; \
	  cp packaging/parleyd.service packaging/parley.sysusers packaging/parleyd.conf README.md $$dir/; \
	  tar -C $(DIST) -czf $(DIST)/$$name.tar.gz $$name; \
	  rm -rf $$dir; \
	done
	cd $(DIST) && sha256sum *.tar.gz > SHA256SUMS

clean:
	rm -rf $(BIN) $(DIST)
