GO      ?= go
VERSION := $(shell git describe --tags --dirty 2>/dev/null || echo 0.1.0-dev)
LDFLAGS := -X main.version=$(VERSION)

.PHONY: build run test lint bench bench-cluster fuzz soak audit clean
build: ## Build bin/karajo
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/karajo ./cmd/karajo

run: build ## Serve the example jobs on 127.0.0.1:31937
	./bin/karajo -config examples/etc/karajo/karajo.toml

test: ## The whole suite, race detector on
	$(GO) test -race -count=1 -timeout 14m ./...

lint: ## gofmt, go vet, staticcheck
	@test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

BENCH_COUNT ?= 1
BENCH_TIME  ?= 500ms
BENCH_ARGS  ?=
bench: build ## Go benchmarks, then karajo-bench (about 14 min; BENCH_ARGS=-quick: about 4)
	$(GO) test -run '^$$' -bench . -benchmem -benchtime $(BENCH_TIME) -count $(BENCH_COUNT) ./...
	$(GO) run ./cmd/karajo-bench -karajo bin/karajo $(BENCH_ARGS)

bench-cluster: build ## 10,000 jobs on 3 cluster nodes (karajo etcd-dev) against 3 single hosts: start, CPU, views; trigger → command on the owning node (about 5 min)
	$(GO) run ./cmd/karajo-bench -karajo bin/karajo -only cluster,cluster-trigger -rounds 5 $(BENCH_ARGS)

FUZZTIME ?= 30s
FUZZ_TARGETS := config:FuzzLoad config/schedule:FuzzParseSchedule config/schedule:FuzzParseCron logstore:FuzzParseName \
	httpapi:FuzzVerifyWebhook httpapi:FuzzClientAddr httpapi:FuzzCheckEpoch httpapi:FuzzParseStrictQuery httpapi:FuzzParseCounter httpapi:FuzzDeliveryID httpapi:FuzzWebhookFilters
fuzz: ## Each fuzz target for FUZZTIME (CI: 5s); new crashers land in testdata/fuzz
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$pkg $$fn for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; \
	done

SOAK ?= 3m
soak: ## Crash-and-restart soak (about SOAK long), prints its summary table
	KARAJO_SOAK=$(SOAK) $(GO) test -race -count=1 -run '^TestSoak$$' -v -timeout 20m ./integration

audit: build ## Lighthouse on the job list, a job's history and the log viewer (example jobs); prints the scores
	./scripts/audit.sh

cluster: build ## Demo: karajo etcd-dev and three nodes on loopback with the example jobs (docs/cluster.md)
	./examples/cluster/demo.sh

SOAK_CLUSTER ?= 2m
soak-cluster: ## Cluster soak: owners killed with -9 and restarted at random (about SOAK_CLUSTER long)
	KARAJO_SOAK_CLUSTER=$(SOAK_CLUSTER) $(GO) test -race -count=1 -run '^TestSoakCluster$$' -v -timeout 20m ./integration

clean:
	rm -rf bin examples/var
