package operator

// Permissions of the operator, generated into config/rbac/role.yaml by controller-gen (`make gen`); the Helm chart
// (deploy/chart) and the OLM bundle (bundle/) take their rules from that file, and test/e2e/chart_rbac_test.go runs
// the operator with exactly these permissions. Keep them to what the operator really does:
//
//   - its own kinds: reads them, patches finalizers and status, creates and deletes IstioRevisions (it never
//     creates or deletes an Istio, and never sends an update: every write is a patch or a server-side apply);
//   - the kinds that Istio's istiod and base charts render (ConfigMap, Service, ServiceAccount, Deployment,
//     HorizontalPodAutoscaler, PodDisruptionBudget, NetworkPolicy, EndpointSlice, RBAC, admission webhooks and
//     policies): server-side apply (create and patch), watch for drift, delete when pruned. The charts render
//     ClusterRoles and Roles with permissions the operator does not hold itself, hence escalate and bind;
//   - Istio's CRDs: applied and read, never deleted;
//   - namespaces and pods: read for readiness and revision usage (pods are created with dryRun=All only, to
//     probe a remote revision's injection webhook); namespaces are relabelled and Deployments,
//     DaemonSets and StatefulSets restarted (patched) when spec.updateStrategy.updateWorkloads moves workloads;
//   - Secrets: read only when an inactive revision is due for deletion, and only those labelled
//     istio/multiCluster=true in the control plane's namespace (remote secrets), to ask the remote clusters
//     whether they still use the revision (internal/mesh/remoteusage). Never cached, never written;
//   - events, and TokenReviews/SubjectAccessReviews for the authenticated metrics endpoint;
//   - leader election leases, only in the operator's namespace (a Role; the chart and the bundle bind it in the
//     namespace the operator runs in, whatever the namespace written below).
//
// The controllers of the other kinds (IstioCNI, ZTunnel, ...) declare their permissions next to their code;
// controller-gen merges every marker under internal/ into one ClusterRole.
//
// +kubebuilder:rbac:groups=sailoperator.io,resources=istios,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=sailoperator.io,resources=istiorevisions,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=sailoperator.io,resources=istios/status;istiorevisions/status,verbs=patch
// +kubebuilder:rbac:groups=sailoperator.io,resources=istios/finalizers;istiorevisions/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list
// +kubebuilder:rbac:groups="",resources=configmaps;services;serviceaccounts,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apps,resources=daemonsets;statefulsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=autoscaling,resources=horizontalpodautoscalers,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles;clusterrolebindings;roles;rolebindings,verbs=get;list;watch;create;patch;delete;escalate;bind
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations;validatingwebhookconfigurations;validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=sail-operator
