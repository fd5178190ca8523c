package framework

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	sailv1 "github.com/sail-mesh/sail/api/v1"
	"github.com/sail-mesh/sail/internal/mesh/revision"
)

// InjectorFieldManager is the field manager of the injector's caBundle patches.
const InjectorFieldManager = "sail-e2e-injector"

// injectorCABundleInterval is how often the injector looks for webhooks whose caBundle it must fill in.
const injectorCABundleInterval = 300 * time.Millisecond

// namespaces istiod never injects into, whatever their labels.
var injectorIgnoredNamespaces = map[string]bool{metav1.NamespaceSystem: true, metav1.NamespacePublic: true}

// Injector stands in for istiod's sidecar injector on a local cluster, where no istiod runs: an HTTPS admission
// webhook on 127.0.0.1 that "injects" pods by recording the injecting revision in their istio.io/rev annotation,
// as istiod's sidecar template does, and that keeps the caBundle of the webhooks pointing at it filled in, as
// istiod does. Point an Istio at it with spec.values.istiodRemote.injectionURL set to URL().
type Injector struct {
	c        client.Client
	base     string // https://127.0.0.1:PORT
	caBundle []byte // PEM of the CA that signed the serving certificate
	server   *http.Server
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once

	injected atomic.Int64
	mu       sync.Mutex
	byRev    map[string]int64
	lastErr  error
}

// StartInjector starts an injector that reads namespaces and IstioRevisionTags with c (an uncached client with
// Sail's scheme, such as Cluster.Client). It runs until ctx ends or Stop is called.
func StartInjector(ctx context.Context, c client.Client) (*Injector, error) {
	caPEM, cert, err := injectorCertificates()
	if err != nil {
		return nil, fmt.Errorf("injector: generating its certificates: %w", err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("injector: cannot listen on 127.0.0.1: %w", err)
	}
	in := &Injector{c: c, base: "https://" + l.Addr().String(), caBundle: caPEM, byRev: map[string]int64{}}
	in.server = &http.Server{
		Handler:           http.HandlerFunc(in.serveHTTP),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 10 * time.Second,
	}
	loopCtx, cancel := context.WithCancel(ctx)
	in.cancel = cancel
	in.wg.Add(2)
	go func() {
		defer in.wg.Done()
		if err := in.server.ServeTLS(l, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			in.setErr(fmt.Errorf("serving: %w", err))
		}
	}()
	go func() {
		defer in.wg.Done()
		in.caBundleLoop(loopCtx)
	}()
	// Stop serving when ctx ends, as documented, even if Stop is never called.
	go func() {
		<-loopCtx.Done()
		in.Stop()
	}()
	return in, nil
}

// URL returns the injection URL to put in an Istio's spec.values.istiodRemote.injectionURL (or a webhook's
// clientConfig.url). Any path under the injector's address is served the same way.
func (in *Injector) URL() string { return in.base + "/inject" }

// CABundle returns the PEM of the CA that signed the injector's serving certificate.
func (in *Injector) CABundle() []byte { return bytes.Clone(in.caBundle) }

// Injected returns how many pods the injector has patched (dry runs excluded).
func (in *Injector) Injected() int64 { return in.injected.Load() }

// InjectedByRevision returns how many pods each revision has injected (dry runs excluded).
func (in *Injector) InjectedByRevision() map[string]int64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make(map[string]int64, len(in.byRev))
	for rev, n := range in.byRev {
		out[rev] = n
	}
	return out
}

// Err returns the last error the injector met while serving a request or filling in a caBundle, or nil; look at it
// when pods are rejected by the webhook or a caBundle stays empty.
func (in *Injector) Err() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.lastErr
}

// Stop shuts the HTTPS server and the caBundle loop down and waits for both. The webhooks that point at the
// injector stay; delete them (or the Istio that rendered them) first, because with failurePolicy Fail they then
// reject the pods they select.
func (in *Injector) Stop() {
	in.stopOnce.Do(func() {
		in.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = in.server.Shutdown(ctx)
		in.wg.Wait()
	})
}

func (in *Injector) setErr(err error) {
	in.mu.Lock()
	in.lastErr = err
	in.mu.Unlock()
}

// serveHTTP answers an admission.k8s.io/v1 AdmissionReview.
func (in *Injector) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an admission.k8s.io/v1 AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	review := &admissionv1.AdmissionReview{}
	if err := json.Unmarshal(body, review); err != nil || review.Request == nil {
		in.setErr(fmt.Errorf("decoding an AdmissionReview: %v", err))
		http.Error(w, "the body is not an admission.k8s.io/v1 AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	resp := in.admit(r.Context(), review.Request)
	resp.UID = review.Request.UID
	out, err := json.Marshal(&admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"}, Response: resp})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

// admit decides on one request: allowed always (unless the injector cannot read what it needs), with a patch that
// records the injecting revision when the pod is injected.
func (in *Injector) admit(ctx context.Context, req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Resource.Group != "" || req.Resource.Resource != "pods" || req.SubResource != "" || req.Operation != admissionv1.Create {
		return allow
	}
	pod := &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		return in.deny(fmt.Errorf("decoding the pod: %w", err))
	}
	podName := pod.Name
	if podName == "" {
		podName = pod.GenerateName + "<generated>"
	}
	ns := &corev1.Namespace{}
	if err := in.c.Get(ctx, client.ObjectKey{Name: req.Namespace}, ns); err != nil {
		return in.deny(fmt.Errorf("reading namespace %s for pod %s: %w", req.Namespace, podName, err))
	}
	name := injectionName(ns, pod)
	if name == "" {
		return allow
	}
	rev, err := in.resolve(ctx, name)
	if err != nil {
		return in.deny(fmt.Errorf("pod %s/%s: %w", req.Namespace, podName, err))
	}
	if pod.Annotations[revision.LabelRev] == rev {
		return allow // already injected by this revision (e.g. a second matching webhook)
	}
	var patch []map[string]any
	if pod.Annotations == nil {
		patch = append(patch, map[string]any{"op": "add", "path": "/metadata/annotations", "value": map[string]string{}})
	}
	patch = append(patch, map[string]any{"op": "add", "path": "/metadata/annotations/" + jsonPointerEscape(revision.LabelRev), "value": rev})
	data, err := json.Marshal(patch)
	if err != nil {
		return in.deny(err)
	}
	pt := admissionv1.PatchTypeJSONPatch
	allow.Patch, allow.PatchType = data, &pt
	if req.DryRun == nil || !*req.DryRun {
		in.injected.Add(1)
		in.mu.Lock()
		in.byRev[rev]++
		in.mu.Unlock()
	}
	return allow
}

func (in *Injector) deny(err error) *admissionv1.AdmissionResponse {
	err = fmt.Errorf("sail e2e injector: %w", err)
	in.setErr(err)
	return &admissionv1.AdmissionResponse{Allowed: false, Result: &metav1.Status{
		Status: metav1.StatusFailure, Message: err.Error(), Reason: metav1.StatusReasonInternalError, Code: http.StatusInternalServerError}}
}

// injectionName returns the revision or tag name whose webhook selects the pod, as Istio's webhooks select: the
// namespace's istio-injection=enabled (default), any other istio-injection value (none), the namespace's
// istio.io/rev, the pod's istio.io/rev label, then the pod's sidecar.istio.io/inject=true (default). Pods that
// opt out with sidecar.istio.io/inject=false (label or annotation) and pods istiod never injects get "".
func injectionName(ns *corev1.Namespace, pod *corev1.Pod) string {
	if strings.EqualFold(pod.Labels[revision.LabelSidecarInject], "false") ||
		strings.EqualFold(pod.Annotations[revision.LabelSidecarInject], "false") ||
		injectorIgnoredNamespaces[ns.Name] || pod.Spec.HostNetwork {
		return ""
	}
	if v, ok := ns.Labels[revision.LabelInjection]; ok {
		if v == "enabled" {
			return sailv1.DefaultRevision
		}
		return ""
	}
	if rev := ns.Labels[revision.LabelRev]; rev != "" {
		return rev
	}
	if rev := pod.Labels[revision.LabelRev]; rev != "" {
		return rev
	}
	if strings.EqualFold(pod.Labels[revision.LabelSidecarInject], "true") {
		return sailv1.DefaultRevision
	}
	return ""
}

// resolve turns a tag name into the revision it points at; any other name is a revision's.
func (in *Injector) resolve(ctx context.Context, name string) (string, error) {
	tag := &sailv1.IstioRevisionTag{}
	err := in.c.Get(ctx, client.ObjectKey{Name: name}, tag)
	switch {
	case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
		return name, nil
	case err != nil:
		return "", fmt.Errorf("reading IstioRevisionTag %s: %w", name, err)
	case tag.Status.IstioRevision != "":
		return tag.Status.IstioRevision, nil
	default:
		return name, nil
	}
}

// caBundleLoop fills in the caBundle of webhooks that point at the injector until ctx ends.
func (in *Injector) caBundleLoop(ctx context.Context) {
	t := time.NewTicker(injectorCABundleInterval)
	defer t.Stop()
	for {
		if err := in.fillCABundles(ctx); err != nil && ctx.Err() == nil {
			in.setErr(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fillCABundles patches every MutatingWebhookConfiguration with a webhook whose URL is under the injector's address
// and whose caBundle is not the injector's CA. The JSON patch tests each URL, so a webhook changed in between is
// left alone (and retried on the next round), and it changes nothing but the caBundles.
func (in *Injector) fillCABundles(ctx context.Context) error {
	list := &admissionregistrationv1.MutatingWebhookConfigurationList{}
	if err := in.c.List(ctx, list); err != nil {
		return fmt.Errorf("listing MutatingWebhookConfigurations to fill in caBundles: %w", err)
	}
	var errs []error
	for i := range list.Items {
		mwc := &list.Items[i]
		var patch []map[string]any
		for j, wh := range mwc.Webhooks {
			url := wh.ClientConfig.URL
			if url == nil || !in.serves(*url) || bytes.Equal(wh.ClientConfig.CABundle, in.caBundle) {
				continue
			}
			prefix := "/webhooks/" + strconv.Itoa(j) + "/clientConfig/"
			patch = append(patch,
				map[string]any{"op": "test", "path": prefix + "url", "value": *url},
				map[string]any{"op": "add", "path": prefix + "caBundle", "value": in.caBundle}) // []byte: base64, as the API wants
		}
		if len(patch) == 0 {
			continue
		}
		data, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		err = in.c.Patch(ctx, mwc, client.RawPatch(types.JSONPatchType, data), client.FieldOwner(InjectorFieldManager))
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsInvalid(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("filling in the caBundle of MutatingWebhookConfiguration %s: %w", mwc.Name, err))
		}
	}
	return errors.Join(errs...)
}

// serves tells whether a webhook URL points at the injector.
func (in *Injector) serves(url string) bool {
	rest, ok := strings.CutPrefix(url, in.base)
	return ok && (rest == "" || rest[0] == '/' || rest[0] == '?')
}

// jsonPointerEscape escapes a map key for a JSON pointer (RFC 6901).
func jsonPointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// injectorCertificates generates a self-signed CA and a serving certificate for 127.0.0.1 signed by it; it returns
// the CA's PEM and the serving key pair.
func injectorCertificates() ([]byte, tls.Certificate, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "sail-e2e-injector-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, tls.Certificate{}, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	return caPEM, tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

// PodsByRevision counts the pods of the namespaces that are not terminating by the revision that injected them
// (their istio.io/rev annotation; "" for none). A failed list shows as a key starting with "error: ".
func PodsByRevision(ctx context.Context, c client.Client, namespaces ...string) map[string]int {
	out := map[string]int{}
	for _, ns := range namespaces {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(ns)); err != nil {
			out["error: "+err.Error()]++
			continue
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp.IsZero() {
				out[p.Annotations[revision.LabelRev]]++
			}
		}
	}
	return out
}
