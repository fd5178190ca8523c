package framework

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// layOutPodFiles writes, under dir, what the kubelet would mount into the pod's istiod container: each volume's
// files at the container's mount path (an absolute path in the pod, relative to dir here). ConfigMaps and Secrets
// are read as they are now; an optional one that does not exist gives an empty directory, as in a pod.
func (c *Cluster) layOutPodFiles(ctx context.Context, dir, namespace string, pod *corev1.Pod) error {
	mounts := map[string]string{}
	for _, m := range discoveryContainer(pod).VolumeMounts {
		mounts[m.Name] = filepath.Join(dir, m.MountPath)
	}
	for _, v := range pod.Spec.Volumes {
		path, ok := mounts[v.Name]
		if !ok {
			continue
		}
		files, err := c.volumeFiles(ctx, namespace, pod.Spec.ServiceAccountName, v)
		if err != nil {
			return fmt.Errorf("volume %s: %w", v.Name, err)
		}
		if err := writeFiles(path, files); err != nil {
			return err
		}
	}
	return nil
}

// volumeFiles returns the files of one volume by name.
func (c *Cluster) volumeFiles(ctx context.Context, namespace, serviceAccount string, v corev1.Volume) (map[string][]byte, error) {
	switch {
	case v.ConfigMap != nil:
		return c.configMapFiles(ctx, namespace, v.ConfigMap.Name, optional(v.ConfigMap.Optional))
	case v.Secret != nil:
		return c.secretFiles(ctx, namespace, v.Secret.SecretName, optional(v.Secret.Optional))
	case v.Projected != nil:
		return c.projectedFiles(ctx, namespace, serviceAccount, v.Projected)
	default: // emptyDir and the like
		return map[string][]byte{}, nil
	}
}

func optional(b *bool) bool { return b != nil && *b }

func (c *Cluster) configMapFiles(ctx context.Context, namespace, name string, optional bool) (map[string][]byte, error) {
	cm := &corev1.ConfigMap{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, cm); err != nil {
		if optional && apierrors.IsNotFound(err) {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("ConfigMap %s/%s: %w", namespace, name, err)
	}
	files := map[string][]byte{}
	for k, v := range cm.Data {
		files[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		files[k] = v
	}
	return files, nil
}

func (c *Cluster) secretFiles(ctx context.Context, namespace, name string, optional bool) (map[string][]byte, error) {
	secret := &corev1.Secret{}
	if err := c.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
		if optional && apierrors.IsNotFound(err) {
			return map[string][]byte{}, nil
		}
		return nil, fmt.Errorf("Secret %s/%s: %w", namespace, name, err)
	}
	return secret.Data, nil
}

// projectedFiles returns the files of a projected volume: ServiceAccount tokens (requested for the pod's
// ServiceAccount with the volume's audience) and ConfigMap items; other sources give no file.
func (c *Cluster) projectedFiles(ctx context.Context, namespace, serviceAccount string, p *corev1.ProjectedVolumeSource) (map[string][]byte, error) {
	files := map[string][]byte{}
	for _, src := range p.Sources {
		switch {
		case src.ServiceAccountToken != nil:
			token, err := c.tokenFor(ctx, namespace, serviceAccount, src.ServiceAccountToken.Audience, time.Hour)
			if err != nil {
				return nil, err
			}
			files[src.ServiceAccountToken.Path] = []byte(token)
		case src.ConfigMap != nil:
			cm, err := c.configMapFiles(ctx, namespace, src.ConfigMap.Name, optional(src.ConfigMap.Optional))
			if err != nil {
				return nil, err
			}
			for _, item := range src.ConfigMap.Items {
				files[item.Path] = cm[item.Key]
			}
		}
	}
	return files, nil
}

// tokenFor requests a token for a ServiceAccount, valid for ttl, with an audience ("" for the API server's).
func (c *Cluster) tokenFor(ctx context.Context, namespace, name, audience string, ttl time.Duration) (string, error) {
	cs, err := kubernetes.NewForConfig(c.Config)
	if err != nil {
		return "", err
	}
	seconds := int64(ttl / time.Second)
	spec := authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}
	if audience != "" {
		spec.Audiences = []string{audience}
	}
	tr, err := cs.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{Spec: spec},
		metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("requesting a token for ServiceAccount %s/%s: %w", namespace, name, err)
	}
	return tr.Status.Token, nil
}

// writeFiles creates dir and writes files into it (names may hold subdirectories).
func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
