# Sail: a Kubernetes operator for upstream Istio.
# `make help` lists the targets.

SHELL := /usr/bin/env bash -o pipefail
BIN := $(CURDIR)/bin
# Tests and benchmarks run in a private network namespace: nothing they start can send a packet off this machine.
NETNS := $(CURDIR)/hack/netns-exec.sh
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/sail-mesh/sail/internal/operator.Version=$(VERSION) -X github.com/sail-mesh/sail/internal/operator.Commit=$(COMMIT) \
	-X github.com/sail-mesh/sail/internal/cli/sailctl.Version=$(VERSION) -X github.com/sail-mesh/sail/internal/cli/sailctl.Commit=$(COMMIT)
API_FILES := $(wildcard api/v1/*_types.go)
export KUBEBUILDER_ASSETS := $(BIN)
# Kill points of `make reliability` (the suite runs 5 in `make test`).
SAIL_KILL_POINTS ?= 20

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z_-]+:.*##/ {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2} /^##@/ {printf "\n%s\n", substr($$0, 5)}' $(MAKEFILE_LIST)

##@ Quick start

.PHONY: run
run: tools build ## Start a local cluster (unless KUBECONFIG is set), the operator, and a sample Istio; wait for Ready.
	hack/run.sh

.PHONY: test
test: tools istio-tools resources verify-gen ## Run every test: unit, controller (envtest), end-to-end and reliability (kwok clusters), then test-race.
	$(GO) test -exec $(NETNS) -count=1 -timeout 45m ./...
	$(MAKE) test-race

# The unit and controller (envtest) packages: everything but the packages that run kwok clusters and operator processes.
RACE_PKGS = $(shell $(GO) list ./... | grep -Ev '/test/(e2e|reliability|bench)|/internal/devtools/localcluster$$')

.PHONY: test-race
test-race: tools resources ## Run the unit and controller (envtest) tests with the race detector.
	$(GO) test -race -exec $(NETNS) -count=1 -timeout 30m $(RACE_PKGS)

.PHONY: reliability
reliability: tools istio-tools resources ## Run the reliability suite with SAIL_KILL_POINTS (default 20) kill points; SAIL_RELIABILITY_SEED replays a run.
	@mkdir -p _output
	SAIL_KILL_POINTS=$(SAIL_KILL_POINTS) $(GO) test -exec $(NETNS) -count=1 -timeout 30m -v ./test/reliability/ 2>&1 | tee _output/reliability.txt

##@ Build

.PHONY: tools
tools: ## Build the test cluster binaries and controller-gen into bin/ (skipped when up to date).
	hack/tools.sh

.PHONY: istio-tools
istio-tools: ## Build pilot-discovery and istioctl of every supported Istio version into bin/istio/ (for the tests).
	hack/tools.sh istio

.PHONY: resources
resources: ## Extract the Istio charts and profiles of every version in resources/versions.yaml.
	$(GO) run ./hack/extractcharts

.PHONY: build
build: resources ## Build bin/sail-operator and bin/sailctl.
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/sail-operator ./cmd/sail-operator
	@if [ -d cmd/sailctl ]; then $(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/sailctl ./cmd/sailctl; fi

.PHONY: image
image: resources ## Build the operator image without a container runtime: _output/image/oci (OCI layout) and _output/image/sail-operator.tar (docker load).
	$(GO) run ./hack/image -out _output/image

.PHONY: gen
gen: ## Regenerate values types, version markers, deepcopy, CRDs and RBAC.
	hack/gen-values.sh
	$(GO) run ./hack/versionsgen $(API_FILES)
	$(BIN)/controller-gen object paths=./api/...
	$(BIN)/controller-gen crd:allowDangerousTypes=true paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(BIN)/controller-gen rbac:roleName=sail-operator paths=./internal/... output:rbac:artifacts:config=config/rbac
	$(GO) run ./hack/chartcrds
	$(GO) run ./hack/bundle

.PHONY: bundle
bundle: ## Generate the OLM bundle (bundle/, bundle.Dockerfile) from the chart, the generated CRDs and RBAC, and config/samples.
	$(GO) run ./hack/bundle

.PHONY: verify-gen
verify-gen: tools ## Fail when a generated file is out of date.
	hack/verify-gen.sh

.PHONY: bench
bench: tools resources ## Run the benchmarks; figures go to _output/bench-*.txt (and _output/bench.txt).
	@mkdir -p _output
	SAIL_BENCH_OUT=$(CURDIR)/_output $(GO) test -exec $(NETNS) -run '^$$' -bench . -benchtime 1x -timeout 45m ./test/bench/... | tee _output/bench.txt
	SAIL_BENCH_OUT=$(CURDIR)/_output $(GO) test -exec $(NETNS) -run '^$$' -bench 'NoopReconcile' -benchtime 300x -timeout 10m ./test/bench/... | tee -a _output/bench.txt
	$(GO) test -run '^$$' -bench 'Render' -benchmem ./internal/pipeline/render/ | tee -a _output/bench.txt
	SAIL_BENCH_OUT=$(CURDIR)/_output $(GO) test -exec $(NETNS) -count=1 -run '^TestLeader_' -timeout 10m ./test/e2e/
	cat _output/bench-leader.txt | tee -a _output/bench.txt

.PHONY: fuzz
fuzz: resources ## Run every fuzz target for FUZZ_EXECS executions (default 1000000); figures go to _output/fuzz.txt.
	hack/fuzz.sh

##@ Local cluster

.PHONY: cluster-up
cluster-up: tools ## Start the local kwok cluster and print its kubeconfig path.
	hack/cluster.sh up

.PHONY: cluster-down
cluster-down: ## Stop the operator started by `make run` and delete the local cluster.
	hack/run.sh down

.PHONY: clean
clean: ## Remove build outputs (not the tool binaries).
	rm -rf $(BIN)/sail-operator $(BIN)/sailctl _output
