# tidal's build and test entry points. `make test` is the one command CI and developers run: it
# installs what the tests need on a fresh machine (see .ci/setup), then checks format, vets and
# runs every test with the race detector.

GO ?= go
GOLANGCI_LINT_VERSION ?= v2.6.2

.PHONY: all build test deps fmt-check vet unit lint bench fuzz clean

all: build

build:
	$(GO) build ./...

test: deps fmt-check vet unit

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

lint:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) run ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# fuzz runs each fuzz target briefly; FUZZTIME=5m for a longer session.
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./policies -run '^$$' -fuzz FuzzLoad -fuzztime $(FUZZTIME)
