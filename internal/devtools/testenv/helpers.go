package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Timeout is how long tests wait for the operator (or the API server) to act on a change.
const Timeout = 30 * time.Second

// CreateNamespace creates a namespace and returns it as created; it fails the test when it cannot. A name ending
// in "-" is a prefix: the API server appends a random suffix, so tests sharing an API server each get their own.
func (e *Env) CreateNamespace(t testing.TB, name string) *corev1.Namespace {
	t.Helper()
	ns := &corev1.Namespace{}
	if strings.HasSuffix(name, "-") {
		ns.GenerateName = name
	} else {
		ns.Name = name
	}
	if err := e.Client.Create(context.Background(), ns); err != nil {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
	return ns
}

// CreateAndWait creates obj and waits up to Timeout until the API server serves it: until it reads back and, for
// a CustomResourceDefinition, until objects of every served version of its kind can be listed. It fails the test
// otherwise.
func (e *Env) CreateAndWait(t testing.TB, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	if err := e.Client.Create(ctx, obj); err != nil {
		t.Fatalf("creating %s %s: %v", reflect.TypeOf(obj).Elem().Name(), obj.GetName(), err)
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, Timeout, true, func(ctx context.Context) (bool, error) {
		last = e.served(ctx, obj)
		return last == nil, nil
	})
	if err != nil {
		t.Fatalf("%s %s is not served after %v: %v", reflect.TypeOf(obj).Elem().Name(), obj.GetName(), Timeout, last)
	}
}

// served returns nil when obj reads back and, for a CRD, its kind can be listed and the client can map it.
func (e *Env) served(ctx context.Context, obj client.Object) error {
	if err := e.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		return err
	}
	crd, ok := obj.(*apiextensionsv1.CustomResourceDefinition)
	if !ok {
		return nil
	}
	dyn, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		return err
	}
	for _, v := range crd.Spec.Versions {
		gvr := schema.GroupVersionResource{Group: crd.Spec.Group, Version: v.Name, Resource: crd.Spec.Names.Plural}
		if !v.Served {
			continue
		}
		if _, err := dyn.Resource(gvr).List(ctx, metav1.ListOptions{Limit: 1}); err != nil {
			return fmt.Errorf("listing %s: %w", gvr, err)
		}
		// The client's REST mapper learns kinds from discovery, which can lag behind the served resource.
		gk := schema.GroupKind{Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind}
		if _, err := e.Client.RESTMapper().RESTMapping(gk, v.Name); err != nil {
			return fmt.Errorf("mapping %s: %w", gk, err)
		}
	}
	return nil
}

// Condition returns a copy of the condition of type condType in obj's status.conditions, or nil. obj is any kind
// with standard conditions (all of Sail's).
func Condition(obj client.Object, condType string) *metav1.Condition {
	data, err := json.Marshal(obj)
	if err != nil {
		return nil
	}
	var s struct {
		Status struct {
			Conditions []metav1.Condition `json:"conditions"`
		} `json:"status"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return nil
	}
	return meta.FindStatusCondition(s.Status.Conditions, condType)
}

// ConditionOf returns a function for Eventually that reads obj again (by its name and namespace, into obj) and
// returns its condition condType as "Status/Reason", "unset" when it has none, or "missing" when it cannot be read.
func ConditionOf(c client.Reader, obj client.Object, condType string) func() string {
	return func() string {
		cond, none := readCondition(c, obj, condType)
		if cond == nil {
			return none
		}
		return string(cond.Status) + "/" + cond.Reason
	}
}

// ConditionStatusOf is ConditionOf with the status alone (or "unset", or "missing").
func ConditionStatusOf(c client.Reader, obj client.Object, condType string) func() metav1.ConditionStatus {
	return func() metav1.ConditionStatus {
		cond, none := readCondition(c, obj, condType)
		if cond == nil {
			return metav1.ConditionStatus(none)
		}
		return cond.Status
	}
}

// readCondition reads obj again and returns its condition condType, or nil and why: "missing" when obj cannot be
// read, "unset" when it has no such condition.
func readCondition(c client.Reader, obj client.Object, condType string) (*metav1.Condition, string) {
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		return nil, "missing"
	}
	if cond := Condition(obj, condType); cond != nil {
		return cond, ""
	}
	return nil, "unset"
}

// MarkDeploymentAvailable plays the Deployment controller, which envtest does not run: it writes the status of
// one available, up-to-date replica for the current generation of the Deployment of key.
func MarkDeploymentAvailable(ctx context.Context, c client.Client, key client.ObjectKey) error {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, key, d); err != nil {
		return err
	}
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1,
		ReadyReplicas: 1, AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}}
	return c.Status().Update(ctx, d)
}

// MarkDaemonSetReady plays the DaemonSet controller and the kubelets of three nodes, which envtest does not run:
// it writes the status of three ready, up-to-date pods for the current generation of the DaemonSet of key.
func MarkDaemonSetReady(ctx context.Context, c client.Client, key client.ObjectKey) error {
	ds := &appsv1.DaemonSet{}
	if err := c.Get(ctx, key, ds); err != nil {
		return err
	}
	ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: ds.Generation, DesiredNumberScheduled: 3,
		CurrentNumberScheduled: 3, UpdatedNumberScheduled: 3, NumberReady: 3, NumberAvailable: 3}
	return c.Status().Update(ctx, ds)
}

// ContainerEnv returns the value of the environment variable name in the first container of a Deployment or
// DaemonSet's pod template that sets it, or "".
func ContainerEnv(obj client.Object, name string) string {
	var spec corev1.PodSpec
	switch o := obj.(type) {
	case *appsv1.Deployment:
		spec = o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		spec = o.Spec.Template.Spec
	}
	for _, c := range spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

// JSON marshals v into a free-form field value (Helm values such as env maps); it panics when v cannot be
// marshalled, which is a mistake in the test.
func JSON(v any) *apiextensionsv1.JSON {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return &apiextensionsv1.JSON{Raw: data}
}

// Kubeconfig returns a kubeconfig that reaches the environment's API server as its administrator, e.g. for a
// remote secret that names this environment as a remote cluster.
func (e *Env) Kubeconfig(t testing.TB) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: e.Config.Host, CertificateAuthorityData: e.Config.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: e.Config.CertData,
		ClientKeyData: e.Config.KeyData, Token: e.Config.BearerToken}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	cfg.CurrentContext = "envtest"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
