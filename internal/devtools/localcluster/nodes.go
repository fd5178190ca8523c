package localcluster

import (
	"context"
	"fmt"
	"runtime"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Labels and annotations put on the fake nodes Start creates.
const (
	// NodeAnnotation marks a Node as managed by kwok-controller.
	NodeAnnotation = "kwok.x-k8s.io/node"
	// NodeTypeLabel is set to "kwok" on every fake Node.
	NodeTypeLabel = "type"
	// NodeNamePrefix prefixes the names of the fake Nodes (kwok-node-0, ...).
	NodeNamePrefix = "kwok-node-"
)

// Allocatable resources of each fake Node: enough for hundreds of pods with
// typical requests across a few nodes.
var nodeResources = corev1.ResourceList{
	corev1.ResourceCPU:              resource.MustParse("32"),
	corev1.ResourceMemory:           resource.MustParse("256Gi"),
	corev1.ResourcePods:             resource.MustParse("250"),
	corev1.ResourceEphemeralStorage: resource.MustParse("1Ti"),
}

// ensureNodes creates the fake Nodes kwok-node-0..n-1 that do not exist yet
// and waits until all of them are Ready.
func ensureNodes(ctx context.Context, cs kubernetes.Interface, n int) error {
	for i := range n {
		node := fakeNode(fmt.Sprintf("%s%d", NodeNamePrefix, i))
		_, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	}
	return poll(ctx, 200*time.Millisecond, func(ctx context.Context) (bool, error) {
		for i := range n {
			name := fmt.Sprintf("%s%d", NodeNamePrefix, i)
			node, err := cs.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			if !nodeReady(node) {
				return false, fmt.Errorf("node %s not Ready yet", name)
			}
		}
		return true, nil
	})
}

func nodeReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func fakeNode(name string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: name,
			Annotations: map[string]string{
				NodeAnnotation:                 "fake",
				"node.alpha.kubernetes.io/ttl": "0",
			},
			Labels: map[string]string{
				NodeTypeLabel:                   "kwok",
				"kubernetes.io/hostname":        name,
				"kubernetes.io/os":              "linux",
				"kubernetes.io/arch":            runtime.GOARCH,
				"kubernetes.io/role":            "agent",
				"node-role.kubernetes.io/agent": "",
			},
		},
		Status: corev1.NodeStatus{
			Capacity:    nodeResources.DeepCopy(),
			Allocatable: nodeResources.DeepCopy(),
			NodeInfo: corev1.NodeSystemInfo{
				Architecture:    runtime.GOARCH,
				OperatingSystem: "linux",
				KubeletVersion:  "fake",
			},
			Phase: corev1.NodeRunning,
		},
	}
}
