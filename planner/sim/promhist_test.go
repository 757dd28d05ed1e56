package sim

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestDynamoLayouts pins the bucket bounds Dynamo's frontend uses by default (generate_log_buckets
// with the defaults of lib/llm/src/http/service/metrics.rs), computed by hand: 0, then
// lo x (hi/lo)^(i/(count-1)) for i = 1..count-1 to two significant figures.
func TestDynamoLayouts(t *testing.T) {
	got := dynamoLayouts()
	want := layouts{
		ttft: []float64{0, 0.0022, 0.0047, 0.01, 0.022, 0.047, 0.1, 0.22, 0.47, 1, 2.2, 4.7, 10, 22, 48, 100, 220, 480},
		itl:  []float64{0, 0.0019, 0.0035, 0.0067, 0.013, 0.024, 0.045, 0.084, 0.16, 0.3, 0.56, 1.1, 2},
		isl:  []float64{0, 100, 210, 430, 870, 1800, 3600, 7400, 15000, 31000, 63000, 130000},
		osl:  []float64{0, 100, 210, 430, 880, 1800, 3700, 7600, 16000, 32000},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(layouts{})); diff != "" {
		t.Errorf("layouts (-want +got):\n%s", diff)
	}
	if len(got.ttft) > maxBounds {
		t.Errorf("%d TTFT bounds, promHist holds %d", len(got.ttft), maxBounds)
	}
}

// TestPromHistQuantile pins histogram_quantile on hand-computed cases.
func TestPromHistQuantile(t *testing.T) {
	bounds := []float64{0, 1, 2, 4}
	tests := []struct {
		name   string
		obs    []float64
		q      float64
		want   float64
		wantOK bool
	}{
		{"empty", nil, 0.5, 0, false},
		// 10 in (1, 2]: rank 5 of 10 -> 1 + 1 x 5/10
		{"inside a bucket", []float64{1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5}, 0.5, 1.5, true},
		// 4 in (0, 1], 4 in (2, 4]: rank 7.2 of 8 -> 2 + 2 x (7.2 - 4)/4
		{"upper bucket", []float64{0.5, 0.5, 0.5, 0.5, 3, 3, 3, 3}, 0.9, 3.6, true},
		// rank 1.8 of 2, in +Inf: the highest finite bound
		{"+Inf bucket", []float64{0.5, 9}, 0.9, 4, true},
		// all zeros: the le=0 bucket answers 0
		{"zero bucket", []float64{0, 0, 0}, 0.5, 0, true},
		// exactly on a bound: le is inclusive, so 2 sits in (1, 2]: rank 0.5 of 1 -> 1.5
		{"on a bound", []float64{2}, 0.5, 1.5, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h promHist
			for _, x := range tt.obs {
				h.observe(bounds, x, 1)
			}
			got, ok := h.quantile(bounds, tt.q)
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("quantile(%v) = %v, %v; want %v, %v", tt.q, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
