# The Sail operator image: a static binary, with the Istio charts of every supported version embedded, on
# distroless (no shell, no package manager), running as a non-root user.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) --build-arg COMMIT=$(git rev-parse --short HEAD) \
#     -t ghcr.io/sail-mesh/sail-operator:<version> .
#
# Multi-platform: docker buildx build --platform linux/amd64,linux/arm64 ... (the builder cross-compiles).
# internal/devtools/packaging/dockerfile_test.go checks this file's structure, since images are not built in CI.

ARG GO_IMAGE=golang:1.26
ARG BASE_IMAGE=gcr.io/distroless/static:nonroot

FROM --platform=$BUILDPLATFORM ${GO_IMAGE} AS builder
ARG TARGETOS=linux
ARG TARGETARCH=amd64
# Stamped into the binary; `sail-operator --version` prints them.
ARG VERSION=dev
ARG COMMIT=unknown
WORKDIR /workspace
# Modules first, so that source changes do not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY Makefile ./
COPY api/ api/
COPY cmd/ cmd/
COPY config/ config/
COPY hack/ hack/
COPY internal/ internal/
COPY resources/ resources/
# Extract the Istio charts of every version in resources/versions.yaml (from the istio.io/istio module), which the
# operator embeds.
RUN make resources
RUN CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} go build -trimpath \
    -ldflags "-s -w -X github.com/sail-mesh/sail/internal/operator.Version=${VERSION} -X github.com/sail-mesh/sail/internal/operator.Commit=${COMMIT}" \
    -o /out/sail-operator ./cmd/sail-operator

FROM ${BASE_IMAGE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="sail-operator" \
      org.opencontainers.image.description="Sail, a Kubernetes operator for upstream Istio" \
      org.opencontainers.image.source="https://github.com/sail-mesh/sail" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}"
COPY --from=builder /out/sail-operator /sail-operator
# The nonroot user of distroless images; numeric, so that runAsNonRoot can verify it.
USER 65532:65532
ENTRYPOINT ["/sail-operator"]
