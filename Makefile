# tidal's build and test entry points. `make test` is the one command CI and developers run: it
# installs what the tests need on a fresh machine (see .ci/setup), then checks format, vets, lints
# (golangci-lint, .golangci.yml) and runs every test with the race detector.

GO ?= go
GOLANGCI_LINT_VERSION ?= v2.15.0

.PHONY: all build test deps fmt-check vet unit test-keda lint bench bench-keda fuzz clean binary image

all: build

build:
	$(GO) build ./...

# binary builds the static, version-stamped binary the image ships (bin/tidal).
binary:
	sh .ci/build-binary

# image builds the container image (Dockerfile) with docker, or CONTAINER_TOOL=podman.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
IMAGE ?= ghcr.io/tidal-planner/tidal:$(VERSION)
CONTAINER_TOOL ?= docker
image:
	$(CONTAINER_TOOL) build --build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT) -t $(IMAGE) .

test: deps fmt-check vet lint unit test-keda

# deps installs the external programs the integration tests start (idempotent; quick when present).
deps:
	bash .ci/setup

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# -timeout: cmd/tidal's end-to-end and fault suites take about 9 minutes under -race on 2 shared
# cores, close to go test's default 10-minute limit per package.
unit:
	$(GO) test -race -count=1 -timeout 45m ./...

# test-keda runs the test/keda module (its own go.mod): KEDA v2.21.0's real client code (scalers
# cache, fallback, scale executor, external-push) against tidal's external scaler on loopback.
# Its first build is heavy (~730 modules: ~8 min and ~2.6 GB on 2 cores), later ones ~30 s.
test-keda:
	cd test/keda && $(GO) vet ./... && $(GO) test -count=1 ./...

# lint runs golangci-lint with .golangci.yml: the standard linters, plus depguard and forbidigo for
# the decision core's purity. .ci/build-golangci-lint builds it through the Go module proxy once
# (~4 min cold on 2 cores) and caches it in $HOME/.cache/tidal; a warm run takes seconds.
lint:
	bin="$$(GOLANGCI_LINT_VERSION=$(GOLANGCI_LINT_VERSION) bash .ci/build-golangci-lint)" && "$$bin" run ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# bench-keda is the KEDA load run: 5,000 calls/s over 1,000 targets on loopback for 10 s, through
# KEDA's client and as plain GetMetrics RPCs; prints p50/p99/p99.9 and the server's CPU per RPC.
bench-keda:
	cd test/keda && $(GO) test -run '^$$' -bench Load -benchtime=1x . -args -load.rate=5000 -load.pairs=1000 -load.duration=10s

# fuzz runs each fuzz target briefly; FUZZTIME=5m for a longer session.
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./policies -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)
