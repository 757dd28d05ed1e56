package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIConventions covers what a new user types: help for a command, --version, flags after
// positional arguments, format inference, out-of-range values named by their flag, and the
// validate and policy show rough edges.
func TestCLIConventions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	agg := readExample(t, "aggregated.yaml")
	good := write("good.yaml", agg)
	dgd := write("dgd.yaml", "apiVersion: nvidia.com/v1alpha1\nkind: DynamoGraphDeployment\nmetadata: {name: x}\nspec: {services: {}}\n")
	cm := write("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: tidal-policies}\ndata:\n  qwen.yaml: |\n"+
		indent(agg, "    ")+"  README: not a policy\n")
	badCM := write("bad-cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: p}\ndata:\n  p.yaml: |\n    kind: Policy\n")
	series := filepath.Join("..", "..", "testdata", "workload", "series_small.csv")
	azure := filepath.Join("..", "..", "testdata", "workload", "azure_small.csv")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"help for a command", []string{"help", "validate"}, 0, []string{"Usage:\n  tidal validate"}, nil},
		{"help for an unknown command", []string{"help", "nope"}, 2, nil, []string{`unknown command "nope"`}},
		{"help lists the commands", []string{"help"}, 0, []string{"doctor", "policy", "tidal help <command>"}, nil},
		{"--version", []string{"--version"}, 0, []string{"tidal dev ("}, nil},
		{"a flag after the files", []string{"validate", good, "--help"}, 0, []string{"Usage:"}, nil},
		{"the same file twice is no conflict", []string{"validate", good, good}, 0, []string{"good.yaml: ok: policy qwen-agg"}, nil},
		{"a DGD is not a policy", []string{"validate", dgd}, 1, nil,
			[]string{"dgd.yaml: kind: this is a DynamoGraphDeployment (apiVersion nvidia.com/v1alpha1), not a tidal policy"}},
		{"a ConfigMap of policies", []string{"validate", cm}, 0, []string{"cm.yaml[qwen.yaml]: ok: policy qwen-agg"}, nil},
		{"a ConfigMap with a bad policy", []string{"validate", badCM}, 1, nil, []string{"bad-cm.yaml[p.yaml]:1: metadata.name: is required"}},
		{"policy show fills the defaults", []string{"policy", "show", good}, 0,
			[]string{"name: qwen-agg", "url: http://prometheus-operated.monitoring.svc:9090", "scaleDownWindow: 5m0s", "actuation: scale"}, nil},
		{"policy show of a bad file", []string{"policy", "show", dgd}, 1, nil, []string{"dgd.yaml:4: spec.services"}},
		{"policy without show", []string{"policy", good}, 2, nil, []string{"want: show FILE"}},
		{"forecast infers csv, flags after the path", []string{"forecast", series, "--horizon", "1"}, 0, []string{"(csv): 5 points of 1m0s"}, nil},
		{"forecast infers azure", []string{"forecast", azure}, 0, []string{"(azure): 4 points"}, nil},
		{"forecast horizon beyond the series", []string{"forecast", series, "--horizon", "500"}, 2, nil,
			[]string{"--horizon 500: the series has 5 points"}},
		{"forecast horizon beyond a period", []string{"forecast", "--period", "2m", "--horizon", "3", azure}, 2, nil,
			[]string{"--horizon 3: 3 steps of 1m0s reach 3m0s ahead, beyond one --period (2m0s); want at most 2"}},
		{"forecast negative interval", []string{"forecast", "--interval", "-1m", series}, 2, nil, []string{"--interval -1m0s: must not be negative"}},
		{"forecast negative gap", []string{"forecast", "--gap", "-1h", series}, 2, nil, []string{"-gap", "is negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(context.Background(), tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.wantCode, stdout.String(), stderr.String())
			}
			for _, s := range tc.wantStdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.wantStderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	var b strings.Builder
	for _, l := range lines {
		if l != "" {
			b.WriteString(prefix + l)
		}
	}
	return b.String()
}

// TestHelpNamesExistingPaths checks that every repository path the commands' help texts name
// (policies/..., deploy/..., docs/...) exists, so a new user can paste the examples.
func TestHelpNamesExistingPaths(t *testing.T) {
	checked := 0
	for _, c := range commands() {
		var stdout, stderr bytes.Buffer
		dispatch(context.Background(), []string{c.name, "--help"}, &stdout, &stderr)
		for _, word := range strings.Fields(stdout.String() + stderr.String()) {
			word = strings.TrimRight(word, ".,:;)")
			if !strings.HasPrefix(word, "policies/") && !strings.HasPrefix(word, "deploy/") && !strings.HasPrefix(word, "docs/") {
				continue
			}
			checked++
			if _, err := os.Stat(filepath.Join(repoRoot, word)); err != nil {
				t.Errorf("tidal %s --help names %s, which does not exist", c.name, word)
			}
		}
	}
	if checked < 3 {
		t.Errorf("only %d paths found in the help texts: the scan checks nothing", checked)
	}
}
