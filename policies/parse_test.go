package policies

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// minimal is the smallest valid policy; tests edit it to provoke one problem at a time.
const minimal = `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata:
  name: p
spec:
  target:
    namespace: ns
    deployment: dgd
    topology: aggregated
  services:
    - name: Worker
      role: aggregated
      maxReplicas: 4
  slo:
    ttft:
      target: 300ms
    itl:
      target: 20ms
`

func TestParseMinimal(t *testing.T) {
	p, err := Parse([]byte(minimal), "min.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if p.Name != "p" || p.Source != "min.yaml" || p.NumServices() != 1 || p.ServiceAt(0).MaxReplicas != 4 {
		t.Errorf("unexpected policy %+v services %+v", p, p.Services())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string // each must appear in the error, in order of the joined messages
	}{
		{
			name: "misspelt field",
			yaml: strings.Replace(minimal, "maxReplicas: 4", "maxReplica: 4", 1),
			want: []string{`f.yaml:13: spec.services[0]: unknown field "maxReplica" (did you mean "maxReplicas"?)`},
		},
		{
			name: "duration given as a number",
			yaml: strings.Replace(minimal, "target: 300ms", "target: 12", 1),
			want: []string{`f.yaml:16: spec.slo.ttft.target: expected a duration such as "300ms" or "5m", got 12`},
		},
		{
			name: "string where an integer belongs",
			yaml: strings.Replace(minimal, "maxReplicas: 4", "maxReplicas: four", 1),
			want: []string{`f.yaml:13: spec.services[0].maxReplicas: expected a whole number, got "four"`},
		},
		{
			name: "max below min",
			yaml: strings.Replace(minimal, "maxReplicas: 4", "maxReplicas: 2\n      minReplicas: 3", 1),
			want: []string{`f.yaml:13: spec.services[0].maxReplicas: 2 is below minReplicas 3`},
		},
		{
			name: "several validation problems at once",
			yaml: strings.NewReplacer("topology: aggregated", "topology: agregated", "target: 20ms", "target: -5ms").Replace(minimal),
			want: []string{
				`f.yaml:9: spec.target.topology: "agregated" is not one of "aggregated", "disaggregated" or "hybrid" (did you mean "aggregated"?)`,
				`f.yaml:18: spec.slo.itl.target: -5ms must be greater than 0`,
			},
		},
		{
			name: "scale-down window not longer than the metrics window",
			yaml: minimal + "  metrics:\n    window: 2m\n  stability:\n    scaleDownWindow: 90s\n",
			want: []string{`f.yaml:22: spec.stability.scaleDownWindow: 1m30s is not longer than spec.metrics.window 2m0s`},
		},
		{
			name: "duplicate key",
			yaml: strings.Replace(minimal, "kind: Policy", "kind: Policy\nkind: Policy", 1),
			want: []string{`f.yaml:3: kind: appears twice (first on line 2)`},
		},
		{
			name: "second document",
			yaml: minimal + "---\n" + minimal,
			want: []string{`f.yaml:19: a second YAML document starts here`},
		},
		{
			name: "empty",
			yaml: "# only a comment\n",
			want: []string{`f.yaml: is empty`},
		},
		{
			name: "not a mapping",
			yaml: "- a\n- b\n",
			want: []string{`f.yaml:1: expected a mapping with fields apiVersion, kind, metadata, spec, got a list`},
		},
		{
			name: "syntax error",
			yaml: "a: b: c\n",
			want: []string{`f.yaml:1: is not valid YAML: mapping values are not allowed in this context`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "f.yaml")
			if err == nil {
				t.Fatalf("Parse succeeded; want errors %q", tt.want)
			}
			msg := err.Error()
			for _, w := range tt.want {
				i := strings.Index(msg, w)
				if i < 0 {
					t.Fatalf("error\n%s\ndoes not contain\n%s", err, w)
				}
				msg = msg[i+len(w):]
			}
		})
	}
}

func TestLoadDirectoryRejectsTwoPoliciesForOneService(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", minimal)
	write("b.yml", strings.Replace(minimal, "name: p", "name: q", 1))
	write("notes.txt", "not a policy")
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load succeeded; want a conflict error")
	}
	want := filepath.Join(dir, "b.yml") + ": spec.services: service Worker of DGD ns/dgd is also planned by " + filepath.Join(dir, "a.yaml")
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error\n%v\ndoes not contain\n%s", err, want)
	}
}

func TestLoadExamples(t *testing.T) {
	ps, err := Load("examples")
	if err != nil {
		t.Fatalf("Load(examples): %v", err)
	}
	if len(ps) < 2 {
		t.Errorf("loaded %d policies; want every example", len(ps))
	}
}
