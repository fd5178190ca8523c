package remotesecret

import "testing"

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
