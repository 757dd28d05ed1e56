package planner

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/policies"
)

// TestSizingWithDynamoProfile sizes prefill and decode from the embedded real H200 Llama-3.1-8B profile and
// checks the sizing against the mean-throughput rule Dynamo's planner uses
// (ceil(token rate / throughput per replica)): queue-aware prefill never needs fewer replicas,
// and needs more when arrivals are bursty.
func TestSizingWithDynamoProfile(t *testing.T) {
	// The H200 Llama-3.1-8B profile embedded in the repository (origin in its SOURCE.md).
	dir := filepath.Join("sim", "scenario", "h200-llama-3.1-8b")
	ps, err := profile.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := model.FromProfile(ps[0])
	p := mustPolicy(t, disaggYAML)
	tests := []struct {
		name string
		rate float64
		cv   float64
	}{
		{"light poisson", 5, 1},
		{"heavy poisson", 60, 1},
		{"heavy bursty", 60, 3},
		{"very heavy", 200, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Load{RequestRate: tc.rate, InputTokenRate: tc.rate * 3000, OutputTokenRate: tc.rate * 150,
				InputTokens: 3000, OutputTokens: 150}
			z := sizing{role: policies.RolePrefill, slo: p.SLO, gpus: 1, variability: variability(Known(tc.cv)), limit: 1000}
			pre := size(m, l, z)
			pc, _ := m.Prefill(3000, 1)
			meanRule := int32(math.Ceil(l.InputTokenRate / pc.TokensPerSecond))
			if !pre.ok || pre.replicas < meanRule {
				t.Errorf("prefill %d replicas (ok %v), below the mean-throughput rule's %d", pre.replicas, pre.ok, meanRule)
			}
			z.variability = variability(Known(0))
			if smooth := size(m, l, z); smooth.replicas > pre.replicas {
				t.Errorf("smooth arrivals need %d > %d replicas at CV %g", smooth.replicas, pre.replicas, tc.cv)
			}
			z.role = policies.RoleDecode
			dec := size(m, l, z)
			dc, _ := m.Decode(3000, 150, p.SLO.ITL.Target.Seconds(), 1)
			if want := int32(math.Ceil(l.OutputTokenRate / dc.TokensPerSecond)); !dec.ok || dec.replicas < want {
				t.Errorf("decode %d replicas, below the throughput bound %d", dec.replicas, want)
			}
			t.Logf("rate %g cv %g: prefill %d (mean rule %d), decode %d", tc.rate, tc.cv, pre.replicas, meanRule, dec.replicas)
		})
	}
}
