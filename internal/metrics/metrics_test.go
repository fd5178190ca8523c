package metrics

import (
	"strings"
	"testing"

	. "github.com/onsi/gomega"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/workloads"
	"github.com/sail-mesh/sail/internal/pipeline/apply"
	"github.com/sail-mesh/sail/internal/pipeline/render"
)

func TestCollector(t *testing.T) {
	g := NewWithT(t)
	scheme := runtime.NewScheme()
	g.Expect(sailv1.AddToScheme(scheme)).To(Succeed())
	rev := &sailv1.IstioRevision{}
	rev.Name = "default"
	rev.Status.State = sailv1.StateHealthy
	istio := &sailv1.Istio{}
	istio.Name = "mesh"
	istio.Status.WorkloadMigration = &sailv1.WorkloadMigrationStatus{TargetRevision: "mesh-v1-31-0", Migrated: 7, Remaining: 3, Skipped: 1}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(rev, istio).Build()
	r := render.New(nil)
	_, err := r.Render(render.Input{Version: "v1.31.0", Chart: "istiod", Release: "default", Namespace: "istio-system"})
	g.Expect(err).NotTo(HaveOccurred())
	col := &Collector{renderer: r, applier: apply.NewApplier(c, c, scheme, "test"), reader: c, migrator: &workloads.Migrator{}}
	reg := prometheus.NewRegistry()
	g.Expect(reg.Register(col)).To(Succeed())
	g.Expect(testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP sail_chart_renders_total Helm chart renders (template executions) the operator performed.
# TYPE sail_chart_renders_total counter
sail_chart_renders_total 1
# HELP sail_istio_revisions IstioRevisions by state (Healthy, NotReady, ReconcileError, Pending) and whether they are in use.
# TYPE sail_istio_revisions gauge
sail_istio_revisions{in_use="unknown",state="Healthy"} 1
# HELP sail_workload_migration_workloads Workloads of each Istio's current migration to its active revision, by state (migrated, remaining, skipped).
# TYPE sail_workload_migration_workloads gauge
sail_workload_migration_workloads{istio="mesh",state="migrated"} 7
sail_workload_migration_workloads{istio="mesh",state="remaining"} 3
sail_workload_migration_workloads{istio="mesh",state="skipped"} 1
# HELP sail_workload_restarts_total Deployments, StatefulSets and DaemonSets the operator restarted to move them to a new revision (spec.updateStrategy.updateWorkloads).
# TYPE sail_workload_restarts_total counter
sail_workload_restarts_total 0
`), "sail_chart_renders_total", "sail_istio_revisions", "sail_workload_migration_workloads", "sail_workload_restarts_total")).To(Succeed())
}
