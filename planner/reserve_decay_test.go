package planner

import (
	"math"
	"testing"
	"time"
)

// TestGrowthDecaysLazily: the growth histogram ages every bin through one scale (agedScale), and
// folds the scale into the weights once it falls below minHistScale. Its true weights and its
// quantiles must equal those of a histogram aged eagerly, bin by bin, from the same samples,
// whether or not a fold happened. A one-day half-life of one sample (a 24 h interval) folds every
// 333 samples; the default interval never does within a day.
func TestGrowthDecaysLazily(t *testing.T) {
	tests := []struct {
		name      string
		interval  time.Duration
		samples   int
		wantFolds bool
	}{
		{name: "a day at the default interval: no fold", interval: time.Minute, samples: 1440},
		{name: "a half-life of one sample: folds", interval: 24 * time.Hour, samples: 2000, wantFolds: true},
		{name: "a half-life of four samples: folds", interval: 6 * time.Hour, samples: 3000, wantFolds: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g growth
			g.setLead(4, tc.interval, time.Minute)
			var eager [reserveBins]float64
			folds := 0
			for i := range tc.samples {
				// Log growths spread over the histogram, the upper bins rarer.
				lg := reserveMinLog + (reserveMaxLog-reserveMinLog)*math.Pow(float64(i*37%101)/101, 3)
				before := g.hist.scale
				g.sample(lg)
				if i > 0 && g.hist.scale > before {
					folds++
				}
				for j := range eager {
					eager[j] *= g.decay
				}
				eager[reserveBin(lg)]++
			}
			if got := folds > 0; got != tc.wantFolds {
				t.Errorf("%d folds, want folds: %v", folds, tc.wantFolds)
			}
			for j := range eager {
				if got := g.hist.bins[j] * g.hist.scale; math.Abs(got-eager[j]) > 1e-12*g.hist.weight {
					t.Errorf("bin %d: weight %g, aged eagerly %g", j, got, eager[j])
				}
			}
			for _, q := range []float64{0.5, 0.9, 0.99} {
				got, ok := g.quantile(q)
				want, wantOK := histQuantile(&eager, 1, g.hist.weight, g.minWeight, q)
				if got != want || ok != wantOK {
					t.Errorf("quantile(%g) = %g, %v; aged eagerly %g, %v", q, got, ok, want, wantOK)
				}
			}
		})
	}
}
