package policies_test

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tidal-planner/tidal/policies"
)

// TestTypeErrorsDoNotHideTheRest checks that a file with wrong types or unknown fields also gets
// the validation problems of everything else, in one pass, without repeating a complaint about
// the field already rejected.
func TestTypeErrorsDoNotHideTheRest(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string // "line: path" of each problem, in order
	}{
		{"a wrong type and two bad values", `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: t}
spec:
  target: {namespace: llm, deployment: d, topology: aggregated}
  services:
    - {name: W, role: aggregated, maxReplicas: four}
  slo: {ttft: {target: 500ms}, itl: {target: -30ms}}
  planning: {headroom: -1}
`, []string{"7: spec.services[0].maxReplicas", "8: spec.slo.itl.target", "9: spec.planning.headroom"}},
		// The misspelt field's problem names spec.target (and suggests "deployment"), so the
		// target's own "deployment is required" is not repeated; other sections still report.
		{"an unknown field hides no other section", `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: t}
spec:
  target: {namespace: llm, topology: aggregated, deploymnet: d}
  services:
    - {name: W, role: aggregated, maxReplicas: 0}
  slo: {ttft: {target: 500ms}, itl: {target: 30ms}}
`, []string{"5: spec.target", "7: spec.services[0].maxReplicas"}},
		{"a bad duration and a bad list", `apiVersion: tidal.dev/v1alpha1
kind: Policy
metadata: {name: t}
spec:
  target: {namespace: llm, deployment: d, topology: aggregated}
  services: W
  slo: {ttft: {target: 2d}, itl: {target: 30ms}}
`, []string{"6: spec.services", "7: spec.slo.ttft.target"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := policies.Parse([]byte(tc.src), "t.yaml")
			var got []string
			for _, p := range policies.Problems(err) {
				got = append(got, fmt.Sprintf("%d: %s", p.Line, p.Path))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s\n%v", diff, err)
			}
		})
	}
}
