package framework

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/sail-mesh/sail/internal/devtools/testenv"
)

// Istiod is a real istiod (pilot-discovery, built by `make istio-tools` from the istio.io/istio module of its
// version) serving one revision that Sail installed, run the way its pod would run: in a working directory laid out
// like the pod's file system (ConfigMaps, Secrets and tokens of the Deployment's volumes at their mount paths,
// which istiod's defaults name relative to the working directory), with the container's arguments and
// environment, as the istiod ServiceAccount, every listener on the istiod Service's ClusterIP. The API server
// then reaches its webhooks as in a real cluster (inside the private network namespace of the tests).
type Istiod struct {
	// IP is the ClusterIP of the revision's istiod Service, where every listener is bound.
	IP string
	// Dir is the working directory; LogPath its log.
	Dir, LogPath string
	// Started is when the process was started.
	Started time.Time
	cmd     *exec.Cmd
	done    chan struct{}
}

// IstiodOptions say which revision's istiod to run.
type IstiodOptions struct {
	// Namespace is the control plane's namespace (the Istio's spec.namespace).
	Namespace string
	// Revision is the IstioRevision's name; its istiod Deployment is labelled istio.io/rev=<Revision>.
	Revision string
	// Version is the Istio version (a name in resources/versions.yaml), which selects bin/istio/<Version>/.
	Version string
	// Dir is a fresh directory for the working directory and the log.
	Dir string
}

// IstioBinary returns the path of an Istio binary (pilot-discovery or istioctl) of version, or an error that says
// how to build it.
func IstioBinary(version, name string) (string, error) {
	path := filepath.Join(testenv.RepoRoot(), "bin", "istio", version, name)
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("%s of Istio %s is not built (run `make istio-tools`): %w", name, version, err)
	}
	return path, nil
}

// StartIstiod starts the istiod of a revision whose Deployment and Service Sail has applied. It returns once the
// process runs; WaitReady waits for istiod to serve.
func (c *Cluster) StartIstiod(ctx context.Context, opts IstiodOptions) (*Istiod, error) {
	bin, err := IstioBinary(opts.Version, "pilot-discovery")
	if err != nil {
		return nil, err
	}
	deploy, err := c.istiodDeployment(ctx, opts.Namespace, opts.Revision)
	if err != nil {
		return nil, err
	}
	ip, err := c.serviceIP(ctx, opts.Namespace, deploy.Name)
	if err != nil {
		return nil, err
	}
	pod := podOf(deploy)
	if err := c.layOutPodFiles(ctx, opts.Dir, opts.Namespace, pod); err != nil {
		return nil, err
	}
	kubeconfig, err := c.ServiceAccountKubeconfig(ctx, opts.Dir, opts.Namespace, pod.Spec.ServiceAccountName, time.Hour)
	if err != nil {
		return nil, err
	}
	return launch(bin, opts, pod, discoveryContainer(pod), kubeconfig, ip, "443")
}

// launch runs pilot-discovery as the container of pod would run, with kubeconfig as its client configuration,
// serving on ip (HTTPS, the webhooks, on httpsPort).
func launch(bin string, opts IstiodOptions, pod *corev1.Pod, container *corev1.Container, kubeconfig, ip, httpsPort string) (*Istiod, error) {
	args := append(append([]string{}, container.Args...), "--kubeconfig="+kubeconfig, "--httpsAddr="+ip+":"+httpsPort,
		"--httpAddr="+ip+":8080", "--grpcAddr="+ip+":15010", "--secureGRPCAddr="+ip+":15012",
		"--monitoringAddr="+ip+":15014")
	in := &Istiod{IP: ip, Dir: opts.Dir, LogPath: filepath.Join(opts.Dir, "istiod.log"), done: make(chan struct{})}
	return in, in.start(bin, args, podEnv(pod, container, opts.Namespace))
}

// start runs pilot-discovery in the working directory with env, logging to LogPath.
func (in *Istiod) start(bin string, args, env []string) error {
	logFile, err := os.Create(in.LogPath)
	if err != nil {
		return err
	}
	in.cmd = exec.Command(bin, args...)
	in.cmd.Dir, in.cmd.Env = in.Dir, env
	in.cmd.Stdout, in.cmd.Stderr = logFile, logFile
	in.Started = time.Now()
	if err := in.cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("starting %s: %w", bin, err)
	}
	go func() {
		_ = in.cmd.Wait()
		logFile.Close()
		close(in.done)
	}()
	return nil
}

// IstiodInstalled returns nil once the istiod Deployment and Service of a revision exist, so StartIstiod can run.
func (c *Cluster) IstiodInstalled(ctx context.Context, namespace, revision string) error {
	deploy, err := c.istiodDeployment(ctx, namespace, revision)
	if err != nil {
		return err
	}
	_, err = c.serviceIP(ctx, namespace, deploy.Name)
	return err
}

// istiodDeployment finds the istiod Deployment of a revision.
func (c *Cluster) istiodDeployment(ctx context.Context, namespace, revision string) (*appsv1.Deployment, error) {
	list := &appsv1.DeploymentList{}
	if err := c.Client.List(ctx, list, client.InNamespace(namespace),
		client.MatchingLabels{"app": "istiod", "istio.io/rev": revision}); err != nil {
		return nil, err
	}
	if len(list.Items) != 1 {
		return nil, fmt.Errorf("want one istiod Deployment labelled istio.io/rev=%s in %s, found %d", revision, namespace, len(list.Items))
	}
	return &list.Items[0], nil
}

// serviceIP returns the ClusterIP of the Service called name.
func (c *Cluster) serviceIP(ctx context.Context, namespace, name string) (string, error) {
	svc := &corev1.Service{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, svc); err != nil {
		return "", fmt.Errorf("the istiod Service %s/%s: %w", namespace, name, err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return "", fmt.Errorf("the istiod Service %s/%s has no ClusterIP", namespace, name)
	}
	return svc.Spec.ClusterIP, nil
}

// podOf is the pod a Deployment's controller would create, named as one of its pods.
func podOf(deploy *appsv1.Deployment) *corev1.Pod {
	pod := &corev1.Pod{Spec: *deploy.Spec.Template.Spec.DeepCopy()}
	pod.Name = deploy.Name + "-local-0"
	pod.Namespace = deploy.Namespace
	if pod.Spec.ServiceAccountName == "" {
		pod.Spec.ServiceAccountName = "default"
	}
	return pod
}

// discoveryContainer returns istiod's container (named discovery in Istio's chart).
func discoveryContainer(pod *corev1.Pod) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == "discovery" {
			return &pod.Spec.Containers[i]
		}
	}
	return &pod.Spec.Containers[0]
}

// podEnv is the container's environment as the kubelet would give it: literal values and the pod's own fields.
// Resource fields (GOMAXPROCS, GOMEMLIMIT from limits) are left to the Go runtime's defaults.
func podEnv(pod *corev1.Pod, container *corev1.Container, namespace string) []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	fields := map[string]string{"metadata.name": pod.Name, "metadata.namespace": namespace,
		"spec.serviceAccountName": pod.Spec.ServiceAccountName, "status.podIP": "127.0.0.1",
		"spec.nodeName": "kwok-node-0"}
	for _, e := range container.Env {
		switch {
		case e.ValueFrom == nil:
			env = append(env, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil:
			env = append(env, e.Name+"="+fields[e.ValueFrom.FieldRef.FieldPath])
		}
	}
	return env
}

// WaitReady waits until istiod answers ready on its HTTP port, or its process ends, or ctx is done.
func (in *Istiod) WaitReady(ctx context.Context) error {
	url := "http://" + in.IP + ":8080/ready"
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-in.done:
			return fmt.Errorf("istiod exited before it was ready (log: %s)", in.LogPath)
		case <-ctx.Done():
			return fmt.Errorf("istiod is not ready at %s (last error: %v; log: %s)", url, err, in.LogPath)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Debug returns the body of one of istiod's debug endpoints (e.g. /debug/registryz) on its HTTP port. istiod
// serves them only to localhost or an authenticated caller: the request carries istiod's own ServiceAccount token
// (from its working directory), an identity of the control plane's namespace, which may read every endpoint.
func (in *Istiod) Debug(path string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+in.IP+":8080"+path, nil)
	if err != nil {
		return "", err
	}
	token, err := os.ReadFile(filepath.Join(in.Dir, "var/run/secrets/tokens/istio-token"))
	if err != nil {
		return "", fmt.Errorf("reading istiod's token to authenticate to its debug endpoints: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return string(body), nil
}

// ErrorLines returns the lines of istiod's log at level error.
func (in *Istiod) ErrorLines() []string {
	return in.ErrorLinesBefore(time.Time{})
}

// ErrorLinesBefore returns the lines of istiod's log at level error logged before t (all of them when t is zero),
// e.g. before its revision was deleted, after which a real istiod's pod is terminated while its ServiceAccount
// token stops working.
func (in *Istiod) ErrorLinesBefore(t time.Time) []string {
	data, _ := os.ReadFile(in.LogPath)
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[1] != "error" {
			continue
		}
		if at, err := time.Parse(time.RFC3339Nano, fields[0]); !t.IsZero() && err == nil && !at.Before(t) {
			continue
		}
		out = append(out, line)
	}
	return out
}

// Stop ends istiod (SIGTERM, then SIGKILL after 10 s) and waits for it.
func (in *Istiod) Stop() { stopProcess(in.cmd.Process, in.done) }

// DumpLogOnFailure prints the tail of istiod's log when the test failed.
func (in *Istiod) DumpLogOnFailure(t testing.TB) {
	t.Helper()
	logTailOnFailure(t, "istiod log "+in.LogPath, in.LogPath)
}
