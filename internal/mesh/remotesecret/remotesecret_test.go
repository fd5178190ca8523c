package remotesecret

import (
	"strings"
	"testing"
)

func TestNormalizeServer(t *testing.T) {
	for in, want := range map[string]string{
		"api.example.com":               "https://api.example.com",
		"api.example.com:6443":          "https://api.example.com:6443",
		"https://api.example.com:6443/": "https://api.example.com:6443",
		"10.1.2.3:6443":                 "https://10.1.2.3:6443",
		"[fd00::1]:6443":                "https://[fd00::1]:6443",
	} {
		got, err := NormalizeServer(in)
		if err != nil || got != want {
			t.Errorf("NormalizeServer(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "http://api.example.com", "https://"} {
		if got, err := NormalizeServer(in); err == nil {
			t.Errorf("NormalizeServer(%q) = %q; want an error", in, got)
		}
	}
}

func TestCompleteDefaults(t *testing.T) {
	o := Options{Name: "c1", Server: "h", Type: TypeConfig}
	if err := o.Complete(); err != nil {
		t.Fatal(err)
	}
	if o.ServiceAccount != ConfigServiceAccount || o.Namespace != "istio-system" {
		t.Errorf("config defaults: %q in %q", o.ServiceAccount, o.Namespace)
	}
	for _, bad := range []Options{{Name: "C1", Server: "h"}, {Name: "c1", Server: "h", Type: "primary"}} {
		if err := bad.Complete(); err == nil {
			t.Errorf("%+v: want an error", bad)
		}
	}
}

func TestRBACHint(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want []string
	}{
		{Options{Type: TypeRemote, Namespace: "istio-system"},
			[]string{"binds the ClusterRole istio-reader-clusterrole-istio-system to istio-reader-service-account"}},
		{Options{Type: TypeConfig, Namespace: "external-istiod"}, []string{"values.global.configCluster",
			"binds the ClusterRole istiod-clusterrole-external-istiod to istiod"}},
	} {
		got := rbacHint(tc.opts)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("rbacHint(type %s) = %q; want it to contain %q", tc.opts.Type, got, w)
			}
		}
	}
}
