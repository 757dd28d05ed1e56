package planner

import (
	"math"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/policies"
)

// decodeOnly is a hand-written Model whose decode answer is fixed.
type decodeOnly struct{ d model.Decode }

func (decodeOnly) Prefill(float64, int32) (model.Prefill, bool) { return model.Prefill{}, false }
func (f decodeOnly) Decode(_, _, _ float64, _ int32) (model.Decode, bool) {
	return f.d, true
}

// TestDecodeNeedLittlesLaw: decode needs enough throughput and enough KV cache for the sequences
// in flight, which Little's law puts at output tokens/s x the ITL they see: the operating point's
// ITL, which is below the target where the cache fills before the ITL reaches it.
func TestDecodeNeedLittlesLaw(t *testing.T) {
	const outRate = 2000.0 // output tokens/s
	z := sizing{role: policies.RoleDecode, slo: policies.SLO{ITL: policies.LatencySLO{Target: 50 * time.Millisecond}}}
	for _, tc := range []struct {
		name string
		d    model.Decode
		want float64
	}{
		{name: "KV-bound: sequences at the operating point's 30 ms", d: model.Decode{TokensPerSecond: 10000, MaxConcurrency: 40, ITL: 0.030}, want: outRate * 0.030 / 40},
		{name: "operating point unknown: at the target", d: model.Decode{TokensPerSecond: 10000, MaxConcurrency: 40}, want: outRate * 0.050 / 40},
		{name: "an ITL above the target counts as the target", d: model.Decode{TokensPerSecond: 10000, MaxConcurrency: 40, ITL: 0.080}, want: outRate * 0.050 / 40},
		{name: "throughput-bound", d: model.Decode{TokensPerSecond: 800, MaxConcurrency: 400, ITL: 0.050}, want: outRate / 800},
		{name: "no cache size: throughput alone", d: model.Decode{TokensPerSecond: 10000, ITL: 0.030}, want: outRate / 10000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, capacity, ok := decodeNeed(decodeOnly{tc.d}, Load{RequestRate: 10, InputTokens: 3000, OutputTokens: 200, OutputTokenRate: outRate}, z)
			if !ok || capacity != tc.d.TokensPerSecond {
				t.Fatalf("decodeNeed: ok %v, capacity %g, want true, %g", ok, capacity, tc.d.TokensPerSecond)
			}
			if math.Abs(raw-tc.want) > 1e-12 {
				t.Errorf("need %g replicas, want %g", raw, tc.want)
			}
		})
	}
}
