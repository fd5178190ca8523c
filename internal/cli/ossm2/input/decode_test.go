package input

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sail-mesh/sail/internal/cli/ossm2/report"
)

// smcpWith is a ServiceMeshControlPlane whose spec is the given YAML (indented two spaces).
func smcpWith(spec string) string {
	return "apiVersion: maistra.io/v2\nkind: ServiceMeshControlPlane\nmetadata: {name: basic, namespace: istio-system}\n" +
		"spec:\n" + spec
}

// unknownPaths decodes the YAML and returns the paths reported as unknown fields, and the other errors.
func unknownPaths(t *testing.T, yaml string, allow bool) (unknown []string, other []string) {
	t.Helper()
	docs, findings := ParseYAML("in.yaml", []byte(yaml))
	if len(findings) > 0 {
		t.Fatalf("parsing: %v", findings)
	}
	rep := &report.Report{}
	Decode(docs, DecodeOptions{AllowUnknownFields: allow}, rep)
	for _, f := range rep.Findings {
		switch {
		case strings.HasPrefix(f.Message, "unknown field"):
			unknown = append(unknown, f.At.Path)
		case f.Severity == report.SeverityError:
			other = append(other, fmt.Sprintf("%s: %s", f.At.Path, f.Message))
		}
	}
	return unknown, other
}

// TestDecodeUnknownFieldsInUnconvertedSections checks that the whole ServiceMeshControlPlane v2 schema is
// checked, including the sections that are not converted (add-ons, Mixer settings, mesh expansion, affinity, SDS):
// a misplaced field is reported with its full path, and the fields that belong there are accepted.
func TestDecodeUnknownFieldsInUnconvertedSections(t *testing.T) {
	for _, tc := range []struct {
		name, spec, want string
	}{
		{"kiali service outside install", "  addons:\n    kiali:\n      enabled: true\n      service: {}\n",
			"spec.addons.kiali.service"},
		{"kiali dashboard typo", "  addons:\n    kiali:\n      install:\n        dashboard:\n          viewOnly: true\n",
			"spec.addons.kiali.install.dashboard.viewOnly"},
		{"prometheus install typo", "  addons:\n    prometheus:\n      install:\n        retension: 6h\n",
			"spec.addons.prometheus.install.retension"},
		{"grafana persistence typo", "  addons:\n    grafana:\n      install:\n        persistence:\n" +
			"          storageClass: gp2\n", "spec.addons.grafana.install.persistence.storageClass"},
		{"jaeger storage typo", "  addons:\n    jaeger:\n      install:\n        storage:\n          kind: Memory\n",
			"spec.addons.jaeger.install.storage.kind"},
		{"3scale typo", "  addons:\n    3scale:\n      enabeld: true\n", "spec.addons.3scale.enabeld"},
		{"stackdriver typo", "  addons:\n    stackdriver:\n      telemetry:\n        enableLoging: true\n",
			"spec.addons.stackdriver.telemetry.enableLoging"},
		{"unknown addon", "  addons:\n    zipkin:\n      enabled: true\n", "spec.addons.zipkin"},
		{"policy mixer typo", "  policy:\n    type: Istiod\n    mixer:\n      failOpn: true\n",
			"spec.policy.mixer.failOpn"},
		{"telemetry istiod typo", "  telemetry:\n    istiod:\n      prometheusFilter:\n        scrap: true\n",
			"spec.telemetry.istiod.prometheusFilter.scrap"},
		{"mesh expansion typo", "  cluster:\n    meshExpansion:\n      enabled: true\n      ilbGatway: {}\n",
			"spec.cluster.meshExpansion.ilbGatway"},
		{"identity kubernetes", "  security:\n    identity:\n      kubernetes:\n        audience: x\n",
			"spec.security.identity.kubernetes.audience"},
		{"gateway sds typo", "  gateways:\n    ingress:\n      sds:\n        enabeld: true\n",
			"spec.gateways.ingress.sds.enabeld"},
		{"affinity typo", "  runtime:\n    components:\n      pilot:\n        pod:\n          affinity:\n" +
			"            podAntiAffinity:\n              requiredDuringSchedulin: []\n",
			"spec.runtime.components.pilot.pod.affinity.podAntiAffinity.requiredDuringSchedulin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, allow := range []bool{false, true} {
				unknown, other := unknownPaths(t, smcpWith(tc.spec), allow)
				if len(other) > 0 {
					t.Errorf("allow=%t: unexpected errors: %v", allow, other)
				}
				if len(unknown) != 1 || unknown[0] != tc.want {
					t.Errorf("allow=%t: unknown fields reported at %v, want exactly [%s]", allow, unknown, tc.want)
				}
			}
		})
	}
}

// TestDecodeKnownFieldsInUnconvertedSections checks that fields that the ServiceMeshControlPlane v2 API has in
// the sections that are not converted are accepted.
func TestDecodeKnownFieldsInUnconvertedSections(t *testing.T) {
	spec := `  addons:
    prometheus:
      enabled: true
      scrape: true
      metricsExpiryDuration: 10m
      install:
        retention: 6h
        scrapeInterval: 15s
        useTLS: true
        service:
          nodePort: 30000
          metadata: {labels: {a: b}}
          ingress: {enabled: true, hosts: [p.example.com], contextPath: /, tls: {termination: edge}}
    grafana:
      enabled: true
      install:
        config: {env: {A: b}, envSecrets: {B: c}}
        persistence: {enabled: true, storageClassName: gp2, accessMode: ReadWriteOnce,
          capacity: {requests: {storage: 1Gi}}}
        security: {enabled: true, secretName: s, usernameKey: u, passphraseKey: p}
        service: {ingress: {enabled: false}}
    kiali:
      enabled: true
      name: kiali
      install:
        dashboard: {viewOnlyMode: false, enableGrafana: true, enablePrometheus: true, enableTracing: true}
        service: {ingress: {enabled: true}}
        deployment: {nodeSelector: {a: b}, resources: {limits: {cpu: "1"}}}
    jaeger:
      name: jaeger
      install:
        storage:
          type: Elasticsearch
          memory: {maxTraces: 100000}
          elasticsearch: {nodeCount: 3, storage: {size: 1Gi}, redundancyPolicy: SingleRedundancy,
            indexCleaner: {enabled: true}}
        ingress: {enabled: true, metadata: {annotations: {a: b}}}
    stackdriver:
      tracer: {debug: true, maxNumberOfAttributes: 200}
      telemetry:
        enabled: true
        auth: {appCredentials: false, apiKey: k, serviceAccountPath: /p}
        enableContextGraph: true
        enableLogging: true
        enableMetrics: true
        accessLogging: {enabled: true, logWindowDuration: 12h}
        configOverride: {anything: [1]}
    3scale:
      enabled: false
      listen_addr: 3333
      log_level: info
      log_json: true
      log_grpc: false
      metrics: {port: 8080, report: true}
      system: {cache_max_size: 1000, cache_refresh_retries: 1, cache_refresh_interval: 180, cache_ttl: 300}
      client: {allow_insecure_connections: false, timeout: 10}
      grpc: {max_conn_timeout: 60}
      backend: {enable_cache: false, cache_flush_interval: 15, policy_fail_closed: true}
  policy:
    type: Istiod
    mixer: {enableChecks: true, failOpen: false, adapters: {useAdapterCRDs: false, kubernetesenv: true}}
    remote: {address: a, createService: true, enableChecks: true, failOpen: false}
  telemetry:
    type: Istiod
    mixer:
      sessionAffinity: true
      batching: {maxEntries: 100, maxTime: 1s}
      adapters:
        useAdapterCRDs: false
        kubernetesenv: true
        stdio: {enabled: true, outputAsJSON: true}
        prometheus: {enabled: true, metricsExpiryDuration: 10m}
        stackdriver:
          enabled: true
          contextGraph: {enabled: true}
          logging: {enabled: true}
          telemetry: {enabled: true}
          auth: {appCredentials: true, apiKey: k, serviceAccountPath: p}
          tracer: {enabled: true, sampleProbability: 1}
    remote: {address: a, createService: true, batching: {maxEntries: 1}}
    istiod:
      metadataExchange: {wasmEnabled: true}
      prometheusFilter: {scrape: true, wasmEnabled: false}
      stackDriverFilter: {logging: true, monitoring: true, topology: true, disableOutbound: false,
        configOverride: {a: b}}
      accessLogTelemetryFilter: {logWindowDuration: 43200s}
  cluster:
    meshExpansion:
      enabled: true
      ilbGateway:
        enabled: true
        service: {type: LoadBalancer}
        runtime: {deployment: {replicas: 1}}
  security:
    identity:
      type: Kubernetes
      kubernetes: {}
  gateways:
    ingress:
      sds:
        enabled: true
        runtime: {imageName: sds}
  runtime:
    components:
      pilot:
        pod:
          affinity:
            nodeAffinity: {}
            podAntiAffinity:
              requiredDuringScheduling: [{key: istio, operator: In, values: [pilot], topologyKey: zone}]
              preferredDuringScheduling: [{key: istio, operator: In, values: [pilot]}]
`
	unknown, other := unknownPaths(t, smcpWith(spec), false)
	if len(unknown) > 0 || len(other) > 0 {
		t.Fatalf("fields of the ServiceMeshControlPlane v2 API rejected: unknown %v, other %v", unknown, other)
	}
}
