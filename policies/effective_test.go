package policies_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/policies"
)

func TestEffective(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("examples", "aggregated.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := policies.Effective(src, "aggregated.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := policies.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	// The rendered effective policy parses back to the same policy, and shows the defaults.
	back, err := policies.Parse(out, "effective.yaml")
	if err != nil {
		t.Fatalf("the effective policy does not parse: %v\n%s", err, out)
	}
	orig, err := policies.Parse(src, "aggregated.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(orig, back, cmp.AllowUnexported(policies.Policy{}, policies.Schedule{}), cmp.FilterPath(func(p cmp.Path) bool {
		return p.Last().String() == ".Source"
	}, cmp.Ignore())); diff != "" {
		t.Errorf("effective policy differs from the original (-orig +effective):\n%s", diff)
	}
	for _, want := range []string{"url: " + policies.DefaultPrometheusURL, "scaleDownWindow: 5m0s", "interval: "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the effective policy lacks %q:\n%s", want, out)
		}
	}
	if _, err := policies.Effective([]byte("kind: Policy\n"), "bad.yaml"); err == nil {
		t.Error("Effective accepted an invalid policy")
	}
}

func TestEnvelopeOf(t *testing.T) {
	tests := []struct {
		name, data, wantAPI, wantKind string
		wantOK                        bool
	}{
		{"policy", "apiVersion: tidal.dev/v1alpha1\nkind: Policy\n", "tidal.dev/v1alpha1", "Policy", true},
		{"configmap", "apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n", "v1", "ConfigMap", true},
		{"not a mapping", "- a\n- b\n", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api, kind, ok := policies.EnvelopeOf([]byte(tc.data))
			if api != tc.wantAPI || kind != tc.wantKind || ok != tc.wantOK {
				t.Errorf("EnvelopeOf = %q, %q, %v; want %q, %q, %v", api, kind, ok, tc.wantAPI, tc.wantKind, tc.wantOK)
			}
		})
	}
}
