package policies_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/policies"
)

// TestExplicitZeros checks that a zero written for a field whose default is not zero is rejected
// with its line, never silently replaced by the default, while fields that honour zero accept it.
func TestExplicitZeros(t *testing.T) {
	const base = `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: z}
spec:
  target: {namespace: llm, deployment: d, topology: aggregated}
  services:
    - {name: W, role: aggregated, maxReplicas: 4%s}
  slo: {ttft: {target: 500ms%s}, itl: {target: 30ms}}
%s`
	tests := []struct {
		name              string
		service, slo, add string
		want              []string // "line: path" of each problem
	}{
		{name: "scale-down window", add: "  stability: {scaleDownWindow: 0s, maxStepDown: 0}\n",
			want: []string{"9: spec.stability.scaleDownWindow"}},
		{name: "planning and metrics", add: "  planning: {interval: 0s, forecast: {coverage: 0}}\n  metrics: {window: 0s}\n",
			want: []string{"10: spec.metrics.window", "9: spec.planning.interval", "9: spec.planning.forecast.coverage"}},
		{name: "service startup and SLO percentile", service: ", startupTime: 0s", slo: ", percentile: 0",
			want: []string{"7: spec.services[0].startupTime", "8: spec.slo.ttft.percentile"}},
		{name: "engine token budget", add: "  performanceModel: {learn: true, maxBatchedTokens: 0}\n",
			want: []string{"9: spec.performanceModel.maxBatchedTokens"}},
		{name: "zeros that are honoured", add: "  planning: {headroom: 0}\n  stability: {maxStepUp: 0, scaleUpCooldown: 0s, scaleDownTolerance: 0}\n  budget: {maxGPUs: 0}\n"},
		{name: "absent fields take their defaults", add: "  stability: {}\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := []byte(fmt.Sprintf(base, tc.service, tc.slo, tc.add))
			_, err := policies.Parse(src, "z.yaml")
			var got []string
			for _, p := range policies.Problems(err) {
				if !strings.Contains(p.Msg, "cannot be honoured") {
					t.Errorf("unexpected problem: %v", p)
					continue
				}
				got = append(got, fmt.Sprintf("%d: %s", p.Line, p.Path))
			}
			slices.Sort(got)
			slices.Sort(tc.want)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}
