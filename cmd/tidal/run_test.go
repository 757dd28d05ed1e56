package main

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/tidal-planner/tidal/policies"
)

func TestRunFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantDone bool
		wantErr  string
	}{
		{name: "help", args: []string{"--help"}, wantCode: 0, wantDone: true},
		{name: "policies required", args: nil, wantCode: 2, wantDone: true, wantErr: "--policies is required"},
		{name: "bad level", args: []string{"--policies", "x", "--log-level", "loud"}, wantCode: 2, wantDone: true, wantErr: "--log-level"},
		{name: "bad format", args: []string{"--policies", "x", "--log-format", "xml"}, wantCode: 2, wantDone: true, wantErr: "--log-format"},
		{name: "stray argument", args: []string{"--policies", "x", "extra"}, wantCode: 2, wantDone: true, wantErr: "unexpected arguments"},
		{name: "bad prometheus url", args: []string{"--policies", "x", "--prometheus-url", "prometheus:9090"}, wantCode: 2, wantDone: true, wantErr: "--prometheus-url"},
		{name: "valid", args: []string{"--policies", "x", "--dry-run", "--leader-elect"}, wantCode: 0, wantDone: false},
		{name: "valid prometheus url", args: []string{"--policies", "x", "--prometheus-url", "http://localhost:9090"}, wantCode: 0, wantDone: false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			_, code, done := parseRunFlags(tc.args, &out, &errOut)
			if code != tc.wantCode || done != tc.wantDone {
				t.Errorf("code, done = %d, %v; want %d, %v", code, done, tc.wantCode, tc.wantDone)
			}
			if !strings.Contains(errOut.String(), tc.wantErr) {
				t.Errorf("stderr %q lacks %q", errOut.String(), tc.wantErr)
			}
			if tc.name == "help" && !strings.Contains(out.String(), "Examples:") {
				t.Errorf("--help prints no examples:\n%s", out.String())
			}
		})
	}
}

func TestRunRejectsBadPolicies(t *testing.T) {
	dir := t.TempDir()
	var out, errOut bytes.Buffer
	code := runRun(t.Context(), []string{"--policies", dir, "--log-format", "json"}, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no *.yaml") {
		t.Errorf("exit %d, stderr %q; want 1 naming the empty directory", code, errOut.String())
	}
}

func TestOverridePrometheus(t *testing.T) {
	ps, err := policies.Load(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url string
		want      func(policies.Policy) string
	}{
		{"empty keeps each policy's URL", "", func(p policies.Policy) string { return p.Metrics.PrometheusURL }},
		{"a URL replaces every policy's", "http://localhost:9090", func(policies.Policy) string { return "http://localhost:9090" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := overridePrometheus(ps, tc.url)
			if len(got) != len(ps) {
				t.Fatalf("%d policies, want %d", len(got), len(ps))
			}
			for i, p := range got {
				if p.Metrics.PrometheusURL != tc.want(ps[i]) {
					t.Errorf("%s: URL %q, want %q", p.Name, p.Metrics.PrometheusURL, tc.want(ps[i]))
				}
			}
		})
	}
	if ps[0].Metrics.PrometheusURL == "http://localhost:9090" {
		t.Error("overriding changed the caller's policies")
	}
}

func TestRunFailsAtOnceOnABadListenAddress(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name, listen string
	}{
		{"port in use", busy.Addr().String()},
		{"not an address", "localhost:http-ish"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			// No kubeconfig and no Prometheus: a run that got past the listener would fail
			// differently (or hang in the backfill).
			code := runRun(t.Context(), []string{"--policies", examplesDir, "--listen", tc.listen,
				"--kubeconfig", "/nonexistent/kubeconfig"}, &out, &errOut)
			if code != 1 || !strings.Contains(errOut.String(), "check --listen") {
				t.Errorf("exit %d, stderr %q; want 1 naming --listen", code, errOut.String())
			}
		})
	}
}
