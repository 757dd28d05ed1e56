package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/cmd/tidal/doctor"
)

// TestRunDoctorWithoutCluster covers tidal doctor's flags and the failures it reports before
// reaching any server (its checks run against real servers in cmd/tidal/doctor's tests).
func TestRunDoctorWithoutCluster(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: tidal.dev/v1alpha1\nkind: Policy\nmetadata: {name: x}\nspec: {mode: sometimes}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noKube := filepath.Join(dir, "no-kubeconfig")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantChecks []string // the distinct check names of the JSON report, in order (nil: no JSON expected)
		wantOut    []string
		wantErr    []string
	}{
		{"help", []string{"--help"}, 0, nil, []string{"Usage:", "tidal doctor --policies", "--service-account", "Examples:"}, nil},
		{"no policies", nil, 2, nil, nil, []string{"--policies is required"}},
		{"bad output", []string{"--policies", examplesDir, "--output", "yaml"}, 2, nil, nil, []string{`--output "yaml": want text or json`}},
		{"bad service account", []string{"--policies", examplesDir, "--service-account", "tidal"}, 2, nil, nil, []string{"want namespace/name or self"}},
		{"bad prometheus url", []string{"--policies", examplesDir, "--prometheus-url", "localhost:9090"}, 2, nil, nil, []string{"want an http or https URL"}},
		{"zero timeout", []string{"--policies", examplesDir, "--timeout", "0s"}, 2, nil, nil, []string{"--timeout 0s: want a positive duration"}},
		{"policies that do not load", []string{"--policies", bad, "--output", "json"}, 1, []string{"policies"}, nil, nil},
		{"no cluster", []string{"--policies", examplesDir, "--kubeconfig", noKube, "--output", "json"}, 1, []string{"kubernetes"}, nil, nil},
		{"text report", []string{"--policies", examplesDir, "--kubeconfig", noKube}, 1, nil,
			[]string{"[FAIL] kubernetes", "fix:   pass --kubeconfig", "0 ok, 0 warnings, 1 failed, 0 skipped"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := dispatch(context.Background(), append([]string{"doctor"}, tc.args...), &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.wantCode, stderr.String())
			}
			for _, s := range tc.wantOut {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if tc.wantChecks == nil {
				return
			}
			var got struct {
				Results []doctor.Result       `json:"results"`
				Summary map[doctor.Status]int `json:"summary"`
			}
			if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
				t.Fatalf("the JSON report does not decode: %v\n%s", err, stdout.String())
			}
			var checks []string
			for _, r := range got.Results {
				if len(checks) == 0 || checks[len(checks)-1] != r.Check {
					checks = append(checks, r.Check)
				}
				if r.Status != doctor.Fail || r.Fix == "" {
					t.Errorf("result %+v: want a failure with a fix", r)
				}
			}
			if diff := cmp.Diff(tc.wantChecks, checks); diff != "" {
				t.Errorf("checks (-want +got):\n%s", diff)
			}
			if got.Summary[doctor.Fail] != len(got.Results) {
				t.Errorf("summary %v, want %d failures", got.Summary, len(got.Results))
			}
		})
	}
}
