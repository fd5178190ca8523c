package framework

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ExternalIstiodOptions say which external istiod to run: an istiod whose Deployment Sail installed in this
// cluster (the external cluster) and whose configuration lives in its config cluster.
type ExternalIstiodOptions struct {
	IstiodOptions
	// ConfigCluster is the cluster istiod reads its configuration from, through the istio-kubeconfig Secret.
	ConfigCluster *Cluster
	// Address is where the config cluster reaches istiod: the ClusterIP of a Service of this cluster that stands
	// for the LoadBalancer or gateway exposing istiod in production. Every listener is bound there.
	Address string
}

// ExternalIstiod is a real istiod of the external control plane topology.
type ExternalIstiod struct {
	*Istiod
	// DebugTokenPath holds a token of istiod's ServiceAccount in the config cluster, which istiod authenticates
	// (with a TokenReview there) for its debug endpoints.
	DebugTokenPath string
}

// StartExternalIstiodT starts, for the rest of the test, the istiod of a revision Sail installed in this cluster
// with global.externalIstiod, run as its pod would run: its client configuration is the kubeconfig the chart
// mounts from the istio-kubeconfig Secret (the pod's KUBECONFIG), so it talks to the config cluster and not to
// the cluster it runs in. It waits until istiod is ready; its log is shown if the test fails.
func (c *Cluster) StartExternalIstiodT(t *testing.T, opts ExternalIstiodOptions) *ExternalIstiod {
	t.Helper()
	var ext *ExternalIstiod
	c.superviseIstiodT(t, &opts.IstiodOptions, func(ctx context.Context) (*Istiod, error) {
		var err error
		ext, err = c.startExternalIstiod(ctx, opts)
		if err != nil {
			return nil, err
		}
		return ext.Istiod, nil
	})
	return ext
}

// startExternalIstiod lays out the pod's files from this cluster, takes the kubeconfig at the pod's KUBECONFIG
// path (which the istio-kubeconfig Secret fills in) and starts pilot-discovery on the given address.
func (c *Cluster) startExternalIstiod(ctx context.Context, opts ExternalIstiodOptions) (*ExternalIstiod, error) {
	bin, err := IstioBinary(opts.Version, "pilot-discovery")
	if err != nil {
		return nil, err
	}
	deploy, err := c.istiodDeployment(ctx, opts.Namespace, opts.Revision)
	if err != nil {
		return nil, err
	}
	pod := podOf(deploy)
	if err := c.layOutPodFiles(ctx, opts.Dir, opts.Namespace, pod); err != nil {
		return nil, err
	}
	container := discoveryContainer(pod)
	kubeconfig, err := mountedKubeconfig(opts.Dir, container)
	if err != nil {
		return nil, err
	}
	debugToken := filepath.Join(opts.Dir, "debug-token")
	token, err := opts.ConfigCluster.tokenFor(ctx, opts.Namespace, pod.Spec.ServiceAccountName, "istio-ca", time.Hour)
	if err != nil {
		return nil, fmt.Errorf("a token of istiod's ServiceAccount in the config cluster, for the debug endpoints: %w", err)
	}
	if err := os.WriteFile(debugToken, []byte(token), 0o600); err != nil {
		return nil, err
	}
	in, err := launch(bin, opts.IstiodOptions, pod, container, kubeconfig, opts.Address, "15017")
	return &ExternalIstiod{Istiod: in, DebugTokenPath: debugToken}, err
}

// mountedKubeconfig returns the file, in the pod's working directory, that the container's KUBECONFIG names, or
// an error when nothing is mounted there (the istio-kubeconfig Secret is missing).
func mountedKubeconfig(dir string, container *corev1.Container) (string, error) {
	for _, e := range container.Env {
		if e.Name != "KUBECONFIG" || e.Value == "" {
			continue
		}
		path := filepath.Join(dir, e.Value)
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("istiod's KUBECONFIG %s is not mounted (create the istio-kubeconfig Secret with "+
				"sailctl create-remote-secret --type config): %w", e.Value, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("istiod's container sets no KUBECONFIG")
}

// DebugText returns the body of one of istiod's debug endpoints, authenticated with the config cluster's token,
// or the error's text (for Eventually).
func (in *ExternalIstiod) DebugText(path string) string {
	token, err := os.ReadFile(in.DebugTokenPath)
	if err != nil {
		return err.Error()
	}
	req, err := http.NewRequest(http.MethodGet, "http://"+in.IP+":8080"+path, nil)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("GET %s: %s: %s", path, resp.Status, body)
	}
	return string(body)
}

// ServiceClusterIP returns the ClusterIP of a Service, or fails the test.
func (c *Cluster) ServiceClusterIP(t *testing.T, namespace, name string) string {
	t.Helper()
	svc := &corev1.Service{}
	NewWithT(t).Expect(c.Client.Get(context.Background(), client.ObjectKey{Namespace: namespace, Name: name}, svc)).To(Succeed())
	return svc.Spec.ClusterIP
}
