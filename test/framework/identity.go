package framework

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// ServiceAccountKubeconfig obtains a token for the ServiceAccount namespace/name with the TokenRequest API (valid
// for ttl, at least ten minutes) and writes a kubeconfig that reaches the cluster with it to dir. A process given
// that kubeconfig has exactly the ServiceAccount's permissions, as in a pod that runs under it.
func (c *Cluster) ServiceAccountKubeconfig(ctx context.Context, dir, namespace, name string, ttl time.Duration) (string, error) {
	token, err := c.tokenFor(ctx, namespace, name, "", ttl)
	if err != nil {
		return "", err
	}
	ca := c.Config.CAData
	if len(ca) == 0 && c.Config.CAFile != "" {
		if ca, err = os.ReadFile(c.Config.CAFile); err != nil {
			return "", err
		}
	}
	user := "system:serviceaccount:" + namespace + ":" + name
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: c.Config.Host, CertificateAuthorityData: ca,
		InsecureSkipTLSVerify: c.Config.Insecure, TLSServerName: c.Config.ServerName}
	kc.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["sa"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: user}
	kc.CurrentContext = "sa"
	path := filepath.Join(dir, namespace+"-"+name+".kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", err
	}
	return path, nil
}

// RESTConfigFromKubeconfig loads a kubeconfig file, such as one ServiceAccountKubeconfig wrote.
func RESTConfigFromKubeconfig(path string) (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", path)
}

// StartOperatorAs runs the operator like StartOperator, but authenticated by the given kubeconfig instead of as
// the cluster's administrator. (The later --kubeconfig flag overrides the one StartOperator passes first.)
func (c *Cluster) StartOperatorAs(kubeconfig, logDir, name string, flags ...string) (*Operator, error) {
	return c.StartOperator(logDir, name, append([]string{"--kubeconfig=" + kubeconfig}, flags...)...)
}
