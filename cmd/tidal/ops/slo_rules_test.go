package ops_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"

	"github.com/tidal-planner/tidal/cmd/tidal/ops"
	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// TestSLORulesReadTheRecordersSeries feeds the series a Recorder exports, label for label, to the
// rule file under promtool and checks what the SLO rules make of them: the request-based miss
// ratios, the error budget of the policy's own objective, and which burn-rate alert fires. The
// promtool tests of alerts_test.yaml are written by hand; this one catches a rule that reads a
// label or a signal value tidal does not export.
func TestSLORulesReadTheRecordersSeries(t *testing.T) {
	promtool := lookPromtool(t)
	p, err := policies.Parse([]byte(`apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: strict}
spec:
  target: {namespace: llm, deployment: d, topology: aggregated}
  services:
    - {name: Worker, role: aggregated, minReplicas: 1, maxReplicas: 4, gpusPerReplica: 1}
  slo: {ttft: {target: 500ms}, itl: {target: 30ms}, objective: 99.9}
  metrics: {model: m}
`), "strict.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(p.SLO.Objective-0.999) > 1e-12 { // the Policy holds a fraction, as the series does
		t.Fatalf("objective %v, want 0.999", p.SLO.Objective)
	}
	tk := tick(p, t0, 2, 2)
	k := planner.Known
	// A quarter of the requests miss TTFT (a 250x burn of a 0.1% budget); 1/1024 miss ITL (0.98x).
	tk.Observations = planner.Observations{RequestRate: k(4), TTFTAttained: k(0.75), ITLAttained: k(1 - 1.0/1024)}
	r := ops.NewRecorder(ops.Options{})
	r.Record(tk)
	series := exposedSeries(t, r)
	if !slices.ContainsFunc(series, func(s map[string]string) bool { return strings.HasPrefix(s["series"], "tidal_slo_objective_ratio{") }) {
		t.Fatalf("the Recorder exports no tidal_slo_objective_ratio: %v", series)
	}
	alerts, err := filepath.Abs(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	ratio := func(signal string, v float64) map[string]any {
		return map[string]any{"labels": fmt.Sprintf(`tidal:slo_miss:ratio_5m{policy="strict",signal=%q}`, signal), "value": v}
	}
	firing := func(alert, severity string) map[string]any {
		return map[string]any{"labels": fmt.Sprintf(`ALERTS{alertname=%q,alertstate="firing",policy="strict",severity=%q,signal="ttftAttained"}`,
			alert, severity), "value": 1}
	}
	test := map[string]any{
		"rule_files":          []string{alerts},
		"evaluation_interval": "30s",
		"tests": []map[string]any{{
			"interval":     "1m",
			"input_series": series,
			"promql_expr_test": []map[string]any{
				{"expr": "tidal:slo_miss:ratio_5m", "eval_time": "30m",
					"exp_samples": []map[string]any{ratio("itlAttained", 1.0/1024), ratio("ttftAttained", 0.25)}},
				{"expr": "tidal:slo_error_budget:ratio * 1000", "eval_time": "30m",
					"exp_samples": []map[string]any{{"labels": `{policy="strict"}`, "value": (1 - p.SLO.Objective) * 1000}}},
				{"expr": `ALERTS{alertname=~"TidalSLOBudgetBurning.*"}`, "eval_time": "30m",
					"exp_samples": []map[string]any{firing("TidalSLOBudgetBurningFast", "critical"),
						firing("TidalSLOBudgetBurningSlowly", "warning")}},
			},
		}},
	}
	b, err := yaml.Marshal(test)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "recorder_test.yaml")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, promtool, "test", "rules", file)
}

// exposedSeries renders every gauge and counter sample the Recorder exports as a promtool input
// series holding its value for an hour: {series: 'name{labels}', values: 'VxN'}.
func exposedSeries(t *testing.T, r *ops.Recorder) []map[string]string {
	t.Helper()
	families, err := r.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			var v float64
			switch f.GetType() {
			case dto.MetricType_GAUGE:
				v = m.GetGauge().GetValue()
			case dto.MetricType_COUNTER:
				v = m.GetCounter().GetValue()
			default:
				continue
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			labels := make([]string, 0, len(m.GetLabel()))
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			out = append(out, map[string]string{"series": f.GetName() + "{" + strings.Join(labels, ",") + "}",
				"values": strconv.FormatFloat(v, 'g', -1, 64) + "x60"})
		}
	}
	return out
}
