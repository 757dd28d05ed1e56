package ops_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// The shipped dashboard and alerts (deploy/helm/tidal/files), and the alerts' unit tests.
var (
	filesDir       = filepath.Join("..", "..", "..", "deploy", "helm", "tidal", "files")
	dashboardFile  = filepath.Join(filesDir, "dashboard.json")
	alertsFile     = filepath.Join(filesDir, "alerts.yaml")
	alertTestsFile = filepath.Join("..", "..", "..", "testdata", "monitoring", "alerts_test.yaml")
)

// dynamoMetrics are the Dynamo metric names the dashboard may read directly (DESIGN.md §1).
var dynamoMetrics = []string{
	"dynamo_frontend_requests_total", "dynamo_frontend_time_to_first_token_seconds_bucket",
	"dynamo_frontend_inter_token_latency_seconds_bucket", "dynamo_frontend_queued_requests",
	"dynamo_frontend_inflight_requests", "dynamo_component_gpu_cache_usage_percent",
}

// exportedNames lists every series name tidal run exports, gathered from a Recorder that has seen
// a tick of a budgeted policy with errors, reasons, an error-budget state, a reload and the lease: histograms count as
// their _bucket, _sum and _count series.
func exportedNames(t *testing.T) []string {
	t.Helper()
	r := ops.NewRecorder(ops.Options{})
	p, err := policies.Parse([]byte(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: b}
spec:
  target: {namespace: llm, deployment: d, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: 4, gpusPerReplica: 1}
  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}
  metrics: {model: m}
  budget: {maxGPUs: 4}
`), "b.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tk := tick(p, t0, 1, 3, planner.TickError{Stage: planner.StageApply, Err: fmt.Errorf("boom")})
	tk.Decision.Services[0].Budget = planner.ErrorBudget{Known: true, Risk: 0.05, ReserveQuantile: 0.95,
		Share: 0.01, Measured: true, Burn: 0.5, Spent: 0.2}
	r.Record(tk)
	r.Reloaded(false)
	r.SetLeader(true)
	r.SetPolicies([]string{"b"})
	families, err := r.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		n := f.GetName()
		if f.GetType() == dto.MetricType_HISTOGRAM {
			names = append(names, n+"_bucket", n+"_sum", n+"_count")
			continue
		}
		names = append(names, n)
	}
	return names
}

// Patterns that strip what is not a metric name from PromQL.
var (
	stringLit  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	braces     = regexp.MustCompile(`\{[^{}]*\}`)
	brackets   = regexp.MustCompile(`\[[^\[\]]*\]`)
	labelLists = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)`)
	numbers    = regexp.MustCompile(`\b[0-9][0-9.]*(?:[eE][+-]?[0-9]+)?[a-z]*`) // 0.01, 1e3, 5m
	ident      = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	keywords   = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
		"group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)

// metricNames returns the metric names a PromQL expression reads: identifiers that are not
// functions, aggregations, keywords, labels, strings, durations or Grafana variables.
func metricNames(expr string) []string {
	s := stringLit.ReplaceAllString(expr, `""`)
	s = labelLists.ReplaceAllString(s, " ")
	for _, re := range []*regexp.Regexp{braces, brackets} {
		for prev := ""; prev != s; {
			prev, s = s, re.ReplaceAllString(s, " ")
		}
	}
	s = numbers.ReplaceAllString(s, " ")
	var out []string
	for _, loc := range ident.FindAllStringSubmatchIndex(s, -1) {
		word := s[loc[0]:loc[1]]
		if loc[2] >= 0 || slices.Contains(keywords, word) || loc[0] > 0 && s[loc[0]-1] == '$' {
			continue // a function call, a keyword, or a Grafana variable
		}
		out = append(out, word)
	}
	return out
}

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name, expr string
		want       []string
	}{
		{"selector and function", `sum by (policy) (rate(tidal_errors_total{stage="apply", kind=~"a|b"}[5m]))`, []string{"tidal_errors_total"}},
		{"binary with matching", `a_metric > bool on (policy, signal) group_left max by (policy) (b:rule)`, []string{"a_metric", "b:rule"}},
		{"subquery and grafana range", `avg_over_time((x > y)[$__range:1m]) / 0.01`, []string{"x", "y"}},
		{"numbers and keywords", `tidal_x > (14.4 * 0.01) and tidal_y offset 5m`, []string{"tidal_x", "tidal_y"}},
		{"grafana variable in a matcher", `tidal_desired_replicas{policy=~"$policy"}`, []string{"tidal_desired_replicas"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, metricNames(tc.expr)); diff != "" {
				t.Errorf("metricNames(%q) (-want +got):\n%s", tc.expr, diff)
			}
		})
	}
}

// ruleFile is the part of a Prometheus rule file the test reads.
type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Record string `yaml:"record"`
			Alert  string `yaml:"alert"`
			Expr   string `yaml:"expr"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// readRules parses the shipped rule file.
func readRules(t *testing.T) ruleFile {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var rules ruleFile
	if err := yaml.Unmarshal(b, &rules); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	return rules
}

// readDashboard parses the shipped Grafana dashboard.
func readDashboard(t *testing.T) any {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return dash
}

// dashboardExprs returns every "expr" string in a Grafana dashboard, wherever it is nested.
func dashboardExprs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if e, ok := v["expr"].(string); ok {
			out = append(out, e)
		}
		for _, x := range v {
			out = append(out, dashboardExprs(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, dashboardExprs(x)...)
		}
	}
	return out
}

// TestMonitoringReadsOnlyExportedMetrics checks that every metric the dashboard and the alerts
// read is one tidal exports, a recording rule of alerts.yaml, or a Dynamo metric.
func TestMonitoringReadsOnlyExportedMetrics(t *testing.T) {
	known := map[string]string{}
	for _, n := range exportedNames(t) {
		known[n] = "tidal"
	}
	for _, n := range dynamoMetrics {
		known[n] = "dynamo"
	}
	exprs := map[string][]string{}
	for _, g := range readRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known[r.Record] = "recording rule"
			}
			exprs[alertsFile] = append(exprs[alertsFile], r.Expr)
		}
	}
	exprs[dashboardFile] = dashboardExprs(readDashboard(t))
	for file, es := range exprs {
		if len(es) < 10 {
			t.Errorf("%s: only %d expressions found: the walk misses some", file, len(es))
		}
		for _, e := range es {
			names := metricNames(e)
			if len(names) == 0 {
				t.Errorf("%s: no metric found in %q", file, e)
			}
			for _, n := range names {
				if known[n] == "" {
					t.Errorf("%s: %q reads %s, which tidal does not export (nor is it a recording rule or a Dynamo metric)", file, e, n)
				}
			}
		}
	}
}

// TestAlertRules checks the rule file with promtool (syntax) and runs its unit tests (which alerts
// fire on which series).
func TestAlertRules(t *testing.T) {
	promtool := lookPromtool(t)
	for _, args := range [][]string{{"check", "rules", alertsFile}, {"test", "rules", alertTestsFile}} {
		runPromtool(t, promtool, args...)
	}
}

// grafanaVariables are the dashboard's template variables, replaced by values Prometheus parses.
var grafanaVariables = strings.NewReplacer(`$__rate_interval`, `1m`, `$__range`, `6h`, `$policy`, `.*`, `$service`, `.*`)

// TestDashboardQueriesParse checks every dashboard query with Prometheus's own parser: promtool
// checks a rule file holding each one (Grafana's variables replaced) as a recording rule.
func TestDashboardQueriesParse(t *testing.T) {
	promtool := lookPromtool(t)
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range dashboardExprs(readDashboard(t)) {
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: grafanaVariables.Replace(e)})
	}
	out, err := yaml.Marshal(map[string]any{"groups": []map[string]any{{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "dashboard-rules.yaml")
	if err := os.WriteFile(file, out, 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, promtool, "check", "rules", file)
}

// lookPromtool returns promtool's path; a test without it fails, unless TIDAL_SKIP_PROMETHEUS=1.
func lookPromtool(t *testing.T) string {
	t.Helper()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("TIDAL_SKIP_PROMETHEUS") == "1" {
			t.Skipf("promtool not installed (TIDAL_SKIP_PROMETHEUS=1): %v", err)
		}
		t.Fatalf("promtool not installed (Debian's prometheus package ships it; run bash .ci/setup): %v", err)
	}
	return promtool
}

// runPromtool runs promtool with args and reports its output when it fails.
func runPromtool(t *testing.T, promtool string, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), promtool, args...)
	cmd.WaitDelay = 10 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
