package forecast

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestErrSketchQuantiles: the sketch's quantiles stay within a fraction of a bin of the exact
// ones for errors of different spreads and shapes, and old errors fade after its memory.
func TestErrSketchQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	tests := []struct {
		name string
		draw func() float64
	}{
		{"narrow normal", func() float64 { return 0.02 * r.NormFloat64() }},
		{"wide normal", func() float64 { return 0.3 * r.NormFloat64() }},
		{"skewed", func() float64 { return r.ExpFloat64()*0.2 - 0.1 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newErrSketch(1 << 30) // no decay to speak of: compare with the exact quantiles
			xs := make([]float64, 5000)
			for i := range xs {
				xs[i] = tc.draw()
				s.add(xs[i])
			}
			slices.Sort(xs)
			spread := quantile(xs, 0.95) - quantile(xs, 0.05)
			for _, q := range []float64{0.05, 0.1, 0.5, 0.9, 0.95} {
				if got, want := s.quantile(q), quantile(xs, q); abs(got-want) > 0.02*spread {
					t.Errorf("q%.2f = %.5f, exact %.5f (tolerance %.5f)", q, got, want, 0.02*spread)
				}
			}
		})
	}
	t.Run("old errors fade", func(t *testing.T) {
		s := newErrSketch(200)
		for range 1000 {
			s.add(-0.5)
		}
		for range 2000 { // ten memories later the old errors weigh e^-10 of the new
			s.add(0.1)
		}
		if got := s.quantile(0.05); abs(got-0.1) > 0.02 {
			t.Errorf("q0.05 = %.4f after 2,000 errors of 0.1, want about 0.1", got)
		}
	})
}

func abs(x float64) float64 { return max(x, -x) }
