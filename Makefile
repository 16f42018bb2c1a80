# logvault: `make demo` and `make test` are the two commands a newcomer needs.
# Everything they use comes from the Go module proxy (versitygw is embedded in
# the logvault CLI), so a machine with Go and make needs nothing else.

SHELL      := /bin/bash
GO         ?= go
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUNCTIONS  := cloudtrail billing applogs
BIN        := bin
LDFLAGS    := -s -w -X github.com/logvault/logvault/internal/functions.Version=$(VERSION)
# Lambda: provided.al2023 on arm64, static, no RPC shim.
LAMBDA_ENV := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags "$(LDFLAGS)"

.PHONY: all build cli demo test unit integration vet fmt clean bench-memory $(addprefix build-,$(FUNCTIONS))

all: build

## build: each function's bootstrap for Lambda (build/<function>/bootstrap) and the CLI (bin/logvault)
build: cli $(addprefix build/,$(addsuffix /bootstrap,$(FUNCTIONS)))

build/%/bootstrap: FORCE
	@mkdir -p $(dir $@)
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $@ ./functions/$*

## cli: the operator CLI for this machine
cli:
	@mkdir -p $(BIN)
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/logvault ./cmd/logvault

# sam build (BuildMethod: makefile) calls build-<LogicalId> of template.yaml with
# ARTIFACTS_DIR set; each writes the function's bootstrap there.
.PHONY: build-CloudTrailFunction build-BillingFunction build-AppLogsFunction
build-CloudTrailFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/cloudtrail

build-BillingFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/billing

build-AppLogsFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/applogs

## demo: start the local stack, ship, overwrite, try to delete as Account B, stop
demo: cli
	$(BIN)/logvault demo

## test: unit tests, then the integration tests against the local stack (versitygw over TLS)
test: vet unit integration

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags integration ./...

unit:
	$(GO) test -short ./...

integration: cli
	$(BIN)/logvault audit --template infra/vault.yaml > /dev/null
	LOGVAULT_BIN=$(CURDIR)/$(BIN)/logvault $(GO) test -tags integration -count=1 -timeout 20m ./internal/e2e/...

## bench-memory: peak RSS and throughput of shipping 256 MiB and 1 GiB billing files, per copy strategy
bench-memory: cli
	LOGVAULT_BIN=$(CURDIR)/$(BIN)/logvault $(GO) test -tags integration -count=1 -run '^$$' -bench BillingCopy -benchtime 1x -timeout 30m ./internal/e2e/

clean:
	rm -rf $(BIN) build

FORCE:
