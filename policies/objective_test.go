package policies

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestSLOObjective checks the attainment objective and its window: defaults, the fraction the
// Policy carries, and every rule, each problem with its file, line and field.
func TestSLOObjective(t *testing.T) {
	// with appends lines under spec.slo of minimal (line 19 onwards).
	with := func(lines ...string) string {
		var b strings.Builder
		b.WriteString(minimal)
		for _, l := range lines {
			b.WriteString("    " + l + "\n")
		}
		return b.String()
	}
	tests := []struct {
		name       string
		yaml       string
		objective  float64       // the Policy's fraction, when valid
		window     time.Duration // the Policy's window, when valid
		wantProbls []string      // "file:line: path: message prefix", in order
	}{
		{name: "defaults", yaml: minimal, objective: 0.99, window: 24 * time.Hour},
		{name: "written out", yaml: with("objective: 99.9", "objectiveWindow: 168h"), objective: 0.999, window: 168 * time.Hour},
		{name: "default raised to a stricter percentile",
			yaml:      strings.Replace(minimal, "target: 20ms", "target: 20ms\n      percentile: 99.5", 1),
			objective: 0.995, window: 24 * time.Hour},
		{name: "equal to the percentile", yaml: with("objective: 90"), objective: 0.9, window: 24 * time.Hour},
		{name: "below a percentile",
			yaml:       strings.Replace(with("objective: 95"), "target: 300ms", "target: 300ms\n      percentile: 97", 1),
			wantProbls: []string{`f.yaml:20: spec.slo.objective: 95 is below spec.slo.ttft.percentile 97`}},
		{name: "zero", yaml: with("objective: 0", "objectiveWindow: 0s"), wantProbls: []string{
			`f.yaml:19: spec.slo.objective: is 0, which cannot be honoured`,
			`f.yaml:20: spec.slo.objectiveWindow: is 0, which cannot be honoured`}},
		{name: "100 percent", yaml: with("objective: 100"), wantProbls: []string{
			`f.yaml:19: spec.slo.objective: 100 is outside (0, 100)`}},
		{name: "negative", yaml: with("objective: -1"), wantProbls: []string{
			`f.yaml:19: spec.slo.objective: -1 is outside (0, 100)`}},
		{name: "not a number", yaml: with("objective: .nan"), wantProbls: []string{
			`f.yaml:19: spec.slo.objective: NaN is not a finite number`}},
		{name: "written with a percent sign", yaml: with("objective: 99%"), wantProbls: []string{
			`f.yaml:19: spec.slo.objective: expected a number, got "99%" (write percentages without %: 99)`}},
		{name: "window in days", yaml: with("objectiveWindow: 7d"), wantProbls: []string{
			`f.yaml:19: spec.slo.objectiveWindow: expected a duration such as "300ms" or "5m", got "7d" (there is no "d" unit`}},
		{name: "window negative", yaml: with("objectiveWindow: -1h"), wantProbls: []string{
			`f.yaml:19: spec.slo.objectiveWindow: -1h0m0s must be greater than 0`}},
		{name: "window over 30 days", yaml: with("objectiveWindow: 721h"), wantProbls: []string{
			`f.yaml:19: spec.slo.objectiveWindow: 721h0m0s is longer than 720h0m0s (30 days)`}},
		{name: "window of exactly 30 days", yaml: with("objectiveWindow: 720h"), objective: 0.99, window: 720 * time.Hour},
		{name: "window not longer than the planning interval",
			yaml:       with("objectiveWindow: 2m") + "  planning:\n    interval: 2m\n",
			wantProbls: []string{`f.yaml:19: spec.slo.objectiveWindow: 2m0s is not longer than spec.planning.interval 2m0s`}},
		{name: "window not longer than the metrics window",
			yaml:       with("objectiveWindow: 5m") + "  metrics:\n    window: 5m\n  stability:\n    scaleDownWindow: 6m\n",
			wantProbls: []string{`f.yaml:19: spec.slo.objectiveWindow: 5m0s is not longer than spec.metrics.window 5m0s`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse([]byte(tt.yaml), "f.yaml")
			var got []string
			for _, pr := range Problems(err) {
				got = append(got, pr.Error())
			}
			if len(got) != len(tt.wantProbls) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.wantProbls), strings.Join(got, "\n"))
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.wantProbls[i]) {
					t.Errorf("problem %d:\n got %s\nwant %s...", i, got[i], tt.wantProbls[i])
				}
			}
			if err != nil {
				return
			}
			gotSLO := [2]any{p.SLO.Objective, p.SLO.ObjectiveWindow}
			if diff := cmp.Diff([2]any{tt.objective, tt.window}, gotSLO, cmp.Comparer(func(a, b float64) bool {
				return a-b < 1e-12 && b-a < 1e-12
			})); diff != "" {
				t.Errorf("objective, window (-want +got):\n%s", diff)
			}
		})
	}
}
