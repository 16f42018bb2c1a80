# logvault: `make demo` and `make test` are the two commands a newcomer needs.
# Everything they use comes from the Go module proxy (versitygw is embedded in
# the logvault CLI), so a machine with Go and make needs nothing else.

SHELL      := /bin/bash
GO         ?= go
# Every target builds and tests with go.mod's toolchain (the latest patch
# release of its Go line, which carries the standard library's security
# fixes that `make vulncheck` checks for), fetched through the module proxy
# when the installed go is older. `make GOTOOLCHAIN=local ...` uses the
# installed go as it is.
export GOTOOLCHAIN := $(shell sed -n 's/^toolchain //p' go.mod)
VERSION    ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
FUNCTIONS  := cloudtrail billing applogs reconcile
BIN        := bin
LDFLAGS    := -s -w -X github.com/logvault/logvault/internal/functions.Version=$(VERSION)
# Lambda: provided.al2023 on arm64, static, no RPC shim.
LAMBDA_ENV := CGO_ENABLED=0 GOOS=linux GOARCH=arm64
LAMBDA_FLAGS := -trimpath -tags lambda.norpc -ldflags "$(LDFLAGS)"

.PHONY: all build cli demo test unit integration vet lint fmt clean bench-memory fuzz vulncheck faults $(addprefix build-,$(FUNCTIONS))

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
.PHONY: build-CloudTrailFunction build-BillingFunction build-AppLogsFunction build-ReconcileFunction
build-CloudTrailFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/cloudtrail

build-BillingFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/billing

build-AppLogsFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/applogs

build-ReconcileFunction:
	$(LAMBDA_ENV) $(GO) build $(LAMBDA_FLAGS) -o $(ARTIFACTS_DIR)/bootstrap ./functions/reconcile

## demo: start the local stack, ship, overwrite, try to delete as Account B, stop
demo: cli
	$(BIN)/logvault demo

## test: cfn-lint, unit tests, brief fuzzing, govulncheck, then the integration tests against the local stack (versitygw over TLS)
test: vet lint unit fuzz vulncheck integration

# cfn-lint (with the SAM translator) checks every template when it is
# installed; PyPI is not reachable from every machine, so it is not installed here.
CFN_TEMPLATES := template.yaml $(wildcard infra/*.yaml)
## lint: cfn-lint on the templates: no error, no warning
lint:
	@if command -v cfn-lint >/dev/null 2>&1; then \
		echo "cfn-lint $$(cfn-lint --version | sed 's/^cfn-lint //') $(CFN_TEMPLATES)"; \
		cfn-lint $(CFN_TEMPLATES); \
	else \
		echo "lint: SKIPPED: cfn-lint is not installed (pip install cfn-lint)"; \
	fi

vet:
	@mkdir -p build
	@test -z "$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))" || { echo "gofmt needed:"; gofmt -l .; exit 1; }
	@$(GO) mod tidy -diff > build/tidy.diff 2>&1 || { echo "go mod tidy would change go.mod/go.sum:"; cat build/tidy.diff; exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) vet -tags integration,faults ./...

# Every decoder's fuzz target, package:target; each runs FUZZTIME from its
# committed corpus (testdata/fuzz/<target>/). docs/testing.md "Fuzzing" has a longer run.
# Minimizing a new input is capped (10 runs): by default it may take 60 s,
# overrunning the fuzz time, which go test then reports as a failure.
FUZZ_TARGETS := internal/trigger:FuzzDecode internal/trigger:FuzzDecodeBody \
	internal/cwlogs:FuzzDecode internal/cwlogs:FuzzDecodeData internal/cwlogs:FuzzNDJSON \
	internal/cwlogs:FuzzFastData internal/cwlogs:FuzzFastEnvelope internal/cwlogs:FuzzAppendString internal/cwlogs:FuzzMessage \
	internal/trailintegrity:FuzzParse internal/trailintegrity:FuzzParsePublicKeys internal/policy:FuzzParse
FUZZTIME ?= 4s

## fuzz: each fuzz target for FUZZTIME (make fuzz FUZZTIME=10m for a long run)
# A run that ends with go's own "context deadline exceeded" and no failing
# input (the fuzz time ran out while a worker was busy, on a loaded
# machine) is run again, up to three times; a failing input always fails.
fuzz:
	@mkdir -p build; set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name ($(FUZZTIME))"; \
		for try in 1 2 3; do \
			if $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 10x ./$$pkg > build/fuzz.log 2>&1; then break; fi; \
			if [ $$try -lt 3 ] && grep -q 'context deadline exceeded' build/fuzz.log && ! grep -q 'Failing input' build/fuzz.log; then \
				echo "fuzz $$name: the fuzz time ran out while a worker was busy; running it again"; continue; fi; \
			cat build/fuzz.log; exit 1; \
		done; \
		grep '^fuzz: elapsed' build/fuzz.log | tail -1; \
	done

# govulncheck needs the Go vulnerability database. vuln.go.dev is not always
# reachable (CI here only reaches the module proxy), so the database is built
# from the golang.org/x/vulndb module (its OSV files, indexed by its own
# cmd/indexdb), pinned like any dependency: raise VULNDB_VERSION to see newer
# reports (`go list -m golang.org/x/vulndb@latest`), or set GOVULNDB to a
# database URL to use one directly.
VULNCHECK_VERSION ?= v1.9.0
VULNDB_VERSION    ?= v0.0.0-20261105234957-e22db6528018
VULNDB_DIR        := $(shell $(GO) env GOCACHE)/logvault-vulndb/$(VULNDB_VERSION)

## vulncheck: govulncheck over every package, against the pinned vulnerability database
vulncheck:
	@mkdir -p build; set -e; db="$(GOVULNDB)"; \
	if [ -z "$$db" ]; then \
		if [ ! -f "$(VULNDB_DIR)/index/db.json" ]; then \
			src=$$($(GO) mod download -json golang.org/x/vulndb@$(VULNDB_VERSION) 2>/dev/null | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p'); \
			if [ -z "$$src" ] || ! $(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$src/data/osv" -out "$(VULNDB_DIR).tmp" > build/vulndb.log 2>&1; then \
				rm -rf "$(VULNDB_DIR).tmp"; \
				echo "vulncheck: SKIPPED: the vulnerability database (golang.org/x/vulndb@$(VULNDB_VERSION)) cannot be fetched from the module proxy; set GOVULNDB to a reachable database"; \
				exit 0; \
			fi; \
			rm -rf "$(VULNDB_DIR)"; mv "$(VULNDB_DIR).tmp" "$(VULNDB_DIR)"; \
		fi; \
		db="file://$(VULNDB_DIR)"; \
	fi; \
	echo "govulncheck@$(VULNCHECK_VERSION) -db $$db ./..."; \
	$(GO) run golang.org/x/vuln/cmd/govulncheck@$(VULNCHECK_VERSION) -db "$$db" ./...

# The audit's package (its mutants) takes 6-7 minutes on 2 cores, near go
# test's default 10-minute limit per package.
unit:
	$(GO) test -short -timeout 30m ./...

integration: cli
	$(BIN)/logvault audit --template infra/vault.yaml > /dev/null
	$(BIN)/logvault audit --template infra/vault.yaml --guardrails infra/guardrails.yaml > /dev/null
	LOGVAULT_BIN=$(CURDIR)/$(BIN)/logvault $(GO) test -tags integration -count=1 -timeout 20m ./internal/e2e/...

## bench-memory: peak RSS and throughput of shipping 256 MiB and 1 GiB billing files, per copy strategy
bench-memory: cli
	LOGVAULT_BIN=$(CURDIR)/$(BIN)/logvault $(GO) test -tags integration -count=1 -run '^$$' -bench BillingCopy -benchtime 1x -timeout 30m ./internal/e2e/

.PHONY: bench bench-quick
## bench: logvault vs the AWS CLI on the local stack, applogs CPU vs its floor, cold starts under
## aws-lambda-rie, SHA-256 rates; writes docs/benchmarks.md's results (installs awscli and
## aws-lambda-rie when missing; 6-10 minutes: 4 GiB files)
bench: cli
	$(GO) run ./bench -logvault $(BIN)/logvault -work build/bench -doc docs/benchmarks.md

## bench-quick: the same rows at a tenth of the sizes, in under five minutes
bench-quick: cli
	$(GO) run ./bench -quick -logvault $(BIN)/logvault -work build/bench -doc docs/benchmarks.md

## faults: the fault campaign (docs/testing.md, "Fault campaign"): >1,000 shipments through a fault-injecting proxy, then the vault against the sources
faults: cli
	LOGVAULT_BIN=$(CURDIR)/$(BIN)/logvault FAULTS_DIR=$(CURDIR)/build/faults $(GO) test -tags integration,faults -count=1 -v -run '^TestFaultCampaign$$' -timeout 30m ./internal/e2e/

clean:
	rm -rf $(BIN) build

FORCE:
