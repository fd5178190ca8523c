package localcluster

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// waitUsable waits until the cluster's API server is ready, n fake Nodes (at least one) exist and are Ready,
// and the default ServiceAccount exists.
func (c *Cluster) waitUsable(ctx context.Context, n int) error {
	cs, err := c.clientset()
	if err != nil {
		return err
	}
	if err := waitAPIServer(ctx, cs); err != nil {
		return fmt.Errorf("localcluster: API server of %q not ready (logs in %s): %w", c.name, filepath.Join(c.dir, "logs"), err)
	}
	if n <= 0 {
		n = 1
	}
	if err := ensureNodes(ctx, cs, n); err != nil {
		return fmt.Errorf("localcluster: fake nodes of %q: %w", c.name, err)
	}
	if err := waitDefaultServiceAccount(ctx, cs); err != nil {
		return fmt.Errorf("localcluster: default ServiceAccount of %q: %w", c.name, err)
	}
	return nil
}

func (c *Cluster) clientset() (*kubernetes.Clientset, error) {
	cfg, err := c.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 10 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// poll calls f every interval until it returns true or an error, or ctx ends;
// then it returns the last error f returned, if any, with ctx's.
func poll(ctx context.Context, interval time.Duration, f func(context.Context) (bool, error)) error {
	var last error
	for {
		done, err := f(ctx)
		if done {
			return nil
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if last != nil {
				return fmt.Errorf("%w (last error: %v)", ctx.Err(), last)
			}
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

func waitAPIServer(ctx context.Context, cs kubernetes.Interface) error {
	return poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		body, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return false, err
		}
		return string(body) == "ok", fmt.Errorf("/readyz: %s", body)
	})
}

func waitDefaultServiceAccount(ctx context.Context, cs kubernetes.Interface) error {
	return poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err == nil, err
	})
}
