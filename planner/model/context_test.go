package model

import (
	"math"
	"testing"
)

// TestBatchContext: the ratio is the KV the batch holds over the sequences' input + output / 2, as
// a ratio of decaying sums; it stays 1 until it has enough readings, and is bounded.
func TestBatchContext(t *testing.T) {
	type reading struct{ kv, seqs, isl, osl float64 }
	steady := func(n int, r reading) []reading {
		rs := make([]reading, n)
		for i := range rs {
			rs[i] = r
		}
		return rs
	}
	alternate := func(n int, a, b reading) []reading {
		rs := steady(n, a)
		for i := 1; i < n; i += 2 {
			rs[i] = b
		}
		return rs
	}
	// reasoning-tokens.csv's lengths: a batch context of 2,020 tokens where input + output / 2 is 1,658.5
	reasoning := reading{100 * 2020, 100, 761, 1795}
	tests := []struct {
		name     string
		readings []reading
		want     float64
	}{
		{"no readings is 1", nil, 1},
		{"too few readings is 1", steady(contextSamples-1, reasoning), 1},
		{"long outputs stay longer", steady(contextSamples, reasoning), 2020 / 1658.5},
		{"exactly input + output / 2", steady(20, reading{50 * 1658.5, 50, 761, 1795}), 1},
		{"below 1 is bounded", steady(20, reading{50 * 800, 50, 761, 1795}), MinContextRatio},
		{"above 4 is bounded", steady(20, reading{50 * 9000, 50, 761, 1795}), MaxContextRatio},
		{"garbage is ignored", append(steady(contextSamples, reasoning),
			reading{math.NaN(), 1, 1, 1}, reading{1, 0, 1, 1}, reading{1, 1, 1, 0}, reading{math.Inf(1), 1, 1, 1}),
			2020 / 1658.5},
		// a quiet interval of 10 sequences at 3x and a busy one of 100 at 1.2x, alternating: the busy
		// one dominates, (10 x 3 + 100 x 1.2) / 110, not the mean of the ratios (2.1)
		{"weighted by sequences", alternate(contextSamples, reading{10 * 3 * 1500, 10, 1000, 1000},
			reading{100 * 1.2 * 1500, 100, 1000, 1000}), (10*3 + 100*1.2) / 110.0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c BatchContext
			for _, r := range tc.readings {
				c.Observe(r.kv, r.seqs, r.isl, r.osl)
			}
			// the decay weighs the alternating readings within 1% of each other
			if got := c.Ratio(); math.Abs(got-tc.want) > 0.01*tc.want {
				t.Errorf("Ratio = %g, want %g", got, tc.want)
			}
		})
	}
}

// TestDecodeAtTheBatchContext: decode is sized at the batch's context, r x (input + output / 2):
// the KV usage that meets the target there, and the sequences it holds at that context.
func TestDecodeAtTheBatchContext(t *testing.T) {
	base := FromProfile(h200(t))
	const isl, osl, target = 761.0, 1795.0, 0.025
	for _, r := range []float64{1, 2020 / 1658.5, 2} {
		got, ok := base.WithBatchContext(r).Decode(isl, osl, target, 1)
		if !ok {
			t.Fatalf("ratio %g: decode infeasible", r)
		}
		ctx := r * (isl + osl/2)
		kv, _ := h200(t).Decode.KVUsageAt(target, ctx)
		if math.Abs(got.KVUsage-kv) > 1e-12 {
			t.Errorf("ratio %g: KV usage %g, want the profile's at the target and a context of %g, %g", r, got.KVUsage, ctx, kv)
		}
		if want := kv * h200(t).Decode.MaxKVTokens() / ctx; math.Abs(got.MaxConcurrency-want) > 1e-9*want {
			t.Errorf("ratio %g: MaxConcurrency %g, want kv x max_kv_tokens / context = %g", r, got.MaxConcurrency, want)
		}
	}
}
