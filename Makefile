# Paygate: self-hostable, multi-tenant hosted checkout platform.
# `make help` lists the targets. Every Go target runs over all modules of the workspace.

SHELL := /bin/bash
GO ?= go
MODULES := pkg migrations frontend services/admin-backend services/main-backend services/main-frontend
PACKAGES := $(foreach m,$(MODULES),paygate.dev/$(m)/...)
SERVICES := admin-backend main-backend main-frontend
BIN := var/bin
TOOLS := $(CURDIR)/var/tools
STRIPE_MOCK_VERSION := v0.203.0
GOLANGCI_LINT_VERSION := v2.15.0
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0
DEV_ENV := APP_ENV=development IPN_ALLOW_PRIVATE_TARGETS=true

export TEST_DATABASE_URL TEST_REDIS_URL

.DEFAULT_GOAL := help

# Fuzz targets `make fuzz` runs, one after another, as package:Target (see README, Testing).
FUZZ_TARGETS := \
	adminapi:FuzzCheckoutCreate runtimesrv:FuzzRuntimeBodies \
	providers/stripe:FuzzStripeWebhook gocardless:FuzzGoCardlessWebhook \
	duda:FuzzDudaSignature duda:FuzzDudaRequests duda:FuzzDudaDecimal \
	tax:FuzzVATID domain:FuzzIBAN \
	money:FuzzParseDecimal money:FuzzFormatDecimal tax:FuzzParseRate
FUZZTIME ?= 60s
FUZZPARALLEL ?= 2
FUZZMINIMIZETIME ?= 200x

.PHONY: help run build test lint lint-tools migrate bench e2e tools clean fuzz

help: ## List the targets with what they do
	@grep -hE '^[a-z][a-z0-9-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}'

build: ## Build the three service binaries into var/bin
	@mkdir -p $(BIN)
	$(GO) build -trimpath -o $(BIN)/ $(foreach s,$(SERVICES),paygate.dev/services/$(s))

run: build ## Start all three services on localhost:8080/8081/8082 (SQLite in ./var unless DATABASE_URL is set); Ctrl-C stops them
	@$(DEV_ENV) $(BIN)/admin-backend migrate
	@echo "Starting admin backend :8080, main backend :8081, main frontend :8082 (Ctrl-C stops all three)"
	@trap 'kill -TERM $$pids 2>/dev/null; wait $$pids; exit 0' INT TERM; \
	$(DEV_ENV) $(BIN)/admin-backend & pids="$$!"; \
	$(DEV_ENV) $(BIN)/main-backend & pids="$$pids $$!"; \
	$(DEV_ENV) $(BIN)/main-frontend & pids="$$pids $$!"; \
	wait -n $$pids; status=$$?; kill -TERM $$pids 2>/dev/null; wait $$pids; exit $$status

migrate: ## Apply every database migration (DATABASE_URL, or the SQLite file in ./var)
	@APP_ENV=$${APP_ENV:-development} $(GO) run paygate.dev/services/admin-backend migrate

tools: ## Install the pinned test tools (stripe-mock) into var/tools
	@test -x $(TOOLS)/bin/stripe-mock || GOBIN=$(TOOLS)/bin $(GO) install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)

lint-tools: ## Install the pinned golangci-lint into var/tools (make lint uses it)
	@$(TOOLS)/bin/golangci-lint version 2>/dev/null | grep -q "version $(GOLANGCI_LINT_VERSION:v%=%)" || GOBIN=$(TOOLS)/bin $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

test: tools ## Run every test with the race detector, against SQLite and PostgreSQL (TEST_DATABASE_URL) and Redis (TEST_REDIS_URL)
	PATH="$(TOOLS)/bin:$$PATH" $(GO) test -race -count=1 -timeout 25m $(PACKAGES)

e2e: tools ## Run only the browser tests (headless Chromium)
	PATH="$(TOOLS)/bin:$$PATH" $(GO) test -race -count=1 -run 'Browser' $(PACKAGES)

lint: lint-tools ## gofmt, go vet, golangci-lint (.golangci.yml: depguard layers, errcheck, staticcheck ...), and the architecture rules (no AutoMigrate, no float money, GORM only in the store)
	@out=$$(gofmt -l $(MODULES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PACKAGES)
	$(TOOLS)/bin/golangci-lint run --allow-parallel-runners $(foreach m,$(MODULES),./$(m)/...)
	@! git grep -nE 'AutoMigrate\(' -- '*.go' ':!*_test.go' || { echo "schema changes go through migrations/"; exit 1; }
	@! git grep -nE '(Amount|Price|Total|Tax)[A-Za-z]*[[:space:]]+float(32|64)' -- '*.go' || { echo "money is int64 minor units"; exit 1; }
	@! git grep -lE '"gorm.io/gorm"' -- '*.go' ':!pkg/store/*' ':!pkg/storetest/*' || { echo "GORM stays inside pkg/store"; exit 1; }
	@! git grep -lE '"paygate.dev/pkg/(payment|hooks|app|runtimesrv|store)"' -- 'pkg/providers/*.go' || { echo "providers report through the ports in pkg/providers, never by importing the payment use cases or the store"; exit 1; }
	@echo "lint: ok"

fuzz: ## Fuzz each parser of outside input for FUZZTIME (default 60s, or e.g. 1000000x) in turn; prints executions per target
	@failed=""; summary=""; \
	for pt in $(FUZZ_TARGETS); do \
		pkg=$${pt%%:*}; target=$${pt##*:}; log=$$(mktemp); \
		echo "== $$target (./pkg/$$pkg) for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) \
			-parallel $(FUZZPARALLEL) ./pkg/$$pkg 2>&1 | tee $$log; status=$${PIPESTATUS[0]}; \
		execs=$$(grep -o 'execs: [0-9]*' $$log | tail -1 | cut -d' ' -f2); rm -f $$log; \
		summary="$$summary$$(printf '%-24s %-18s execs %12s  %s' $$target ./pkg/$$pkg "$${execs:-0}" $$([ $$status = 0 ] && echo ok || echo FAILED))\n"; \
		[ $$status = 0 ] || failed="$$failed $$target"; \
	done; \
	printf "\n$$summary"; \
	if [ -n "$$failed" ]; then echo "crashers (see testdata/fuzz/ in the package):$$failed"; exit 1; fi

bench: tools ## Benchmarks: checkout creation over HTTP vs pgbench on PostgreSQL, on SQLite under two processes, lists/search at 1M checkouts and the CSV export's heap (PostgreSQL), hosted page render (p50/p99)
	PATH="$(TOOLS)/bin:$$PATH" $(GO) test -run '^$$' -bench . -benchtime 1x -timeout 40m paygate.dev/pkg/bench/...
	$(GO) test -run '^$$' -bench 'HostedPage' -benchtime 2000x paygate.dev/pkg/hostedpage

clean: ## Remove built binaries and tools (keeps the development database in ./var)
	rm -rf $(BIN) $(TOOLS)
