// Package remoteusage tells whether the workloads of remote clusters may still use a revision of a primary
// cluster's control plane. A primary's istiod reads remote clusters through remote secrets (Secrets labelled
// istio/multiCluster=true in its namespace, one kubeconfig per cluster), and in a primary-remote mesh the pods of
// those clusters are injected by, and connect to, the primary's revisions: the primary's own usage index cannot
// see them. Usage that cannot be read counts as use: a revision is only deleted when every remote cluster
// answered that nothing selects it.
package remoteusage

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/mesh/revision"
)

// LabelMultiCluster marks the remote secrets istiod reads in its namespace.
const LabelMultiCluster = "istio/multiCluster"

// DefaultTimeout bounds the reads of one remote cluster.
const DefaultTimeout = 5 * time.Second

// Connect returns a reader of the cluster a remote secret's kubeconfig describes.
type Connect func(kubeconfig []byte) (client.Reader, error)

// Checker reads the remote secrets of a control plane's namespace and the clusters they name.
type Checker struct {
	// Secrets reads Secrets (not through a cache: only the remote secrets are ever read, and rarely).
	Secrets client.Reader
	// Connect opens a remote cluster; ConnectKubeconfig when nil.
	Connect Connect
	// Timeout bounds the reads of one remote cluster; DefaultTimeout when zero.
	Timeout time.Duration
}

// KeepReason returns why revision (selected by its own name or one of names, its tags) must be kept because of a
// remote cluster of the control plane in namespace: a remote cluster uses it, or cannot tell. It returns "" when
// the namespace has no remote secret or every remote cluster answered that nothing there selects the revision.
func (c *Checker) KeepReason(ctx context.Context, namespace, revision string, names ...string) string {
	secrets := &corev1.SecretList{}
	if err := c.Secrets.List(ctx, secrets, client.InNamespace(namespace),
		client.MatchingLabels{LabelMultiCluster: "true"}); err != nil {
		return fmt.Sprintf("the remote clusters of %s are unknown (listing its remote secrets, labelled %s=true, "+
			"failed: %v); grant the operator get and list on Secrets, or delete the revision by hand once no "+
			"remote cluster uses it", namespace, LabelMultiCluster, err)
	}
	names = append([]string{revision}, names...)
	var reasons []string
	for _, s := range secrets.Items {
		for _, cluster := range sortedKeys(s.Data) {
			if why := c.clusterReason(ctx, cluster, s.Name, s.Data[cluster], names); why != "" {
				reasons = append(reasons, why)
			}
		}
	}
	return strings.Join(reasons, "; ")
}

// clusterReason returns why one remote cluster keeps the revision, or "".
func (c *Checker) clusterReason(ctx context.Context, cluster, secret string, kubeconfig []byte, names []string) string {
	connect := c.Connect
	if connect == nil {
		connect = ConnectKubeconfig
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	unknown := func(err error) string {
		return fmt.Sprintf("its use in remote cluster %s is unknown (%v); it is kept until that cluster answers "+
			"through remote secret %s, or the secret is removed", cluster, err, secret)
	}
	remote, err := connect(kubeconfig)
	if err != nil {
		return unknown(err)
	}
	use, err := FirstUse(ctx, remote, names)
	if err != nil {
		return unknown(err)
	}
	if use != "" {
		return fmt.Sprintf("remote cluster %s uses it (%s)", cluster, use)
	}
	return ""
}

// FirstUse returns one namespace or pod of a cluster that selects one of names (a revision or a tag), read as
// Sail reads its own cluster's usage (revision.NamespaceRevision, revision.PodRevision: the istio.io/rev label or
// istio-injection=enabled for the tag default on namespaces, the istio.io/rev annotation injection writes on
// pods), or "" when none does. Both lists are read in pages.
func FirstUse(ctx context.Context, c client.Reader, names []string) (string, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	found := ""
	err := eachPage(ctx, c, &corev1.NamespaceList{}, func(list client.ObjectList) bool {
		for _, ns := range list.(*corev1.NamespaceList).Items {
			if rev := revision.NamespaceRevision(ns.Labels); want[rev] {
				found = fmt.Sprintf("namespace %s selects %s", ns.Name, rev)
				return false
			}
		}
		return true
	})
	if err != nil || found != "" {
		return found, wrap("listing its namespaces", err)
	}
	err = eachPage(ctx, c, &corev1.PodList{}, func(list client.ObjectList) bool {
		for i, pod := range list.(*corev1.PodList).Items {
			if rev := revision.PodRevision(&list.(*corev1.PodList).Items[i]); want[rev] {
				found = fmt.Sprintf("pod %s/%s runs %s", pod.Namespace, pod.Name, rev)
				return false
			}
		}
		return true
	})
	return found, wrap("listing its pods", err)
}

// pageSize bounds the objects of one list request to a remote cluster.
const pageSize = 500

// eachPage lists every object of list's kind page by page, until visit returns false.
func eachPage(ctx context.Context, c client.Reader, list client.ObjectList, visit func(client.ObjectList) bool) error {
	opts := []client.ListOption{client.Limit(pageSize)}
	for {
		if err := c.List(ctx, list, opts...); err != nil {
			return err
		}
		if !visit(list) || list.GetContinue() == "" {
			return nil
		}
		opts = []client.ListOption{client.Limit(pageSize), client.Continue(list.GetContinue())}
	}
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ConnectKubeconfig returns an uncached client of the cluster a kubeconfig describes.
func ConnectKubeconfig(kubeconfig []byte) (client.Reader, error) {
	cfg, err := clientcmd.RESTConfigFromKubeConfig(kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("its kubeconfig is invalid: %w", err)
	}
	cfg.Timeout = DefaultTimeout
	return client.New(cfg, client.Options{})
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
