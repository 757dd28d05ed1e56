package planner

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestGrowthPointQuantile: the point growth weighs each lag of the lead time equally, so a load
// that stays high for the lead counts for the lead's length where a one-interval spike of the
// same height counts for one lag; the reserve's peak growth counts both alike.
func TestGrowthPointQuantile(t *testing.T) {
	const lead = 4
	every := func(period, length int) func(int) float64 {
		return func(i int) float64 {
			if i%period < length {
				return 20
			}
			return 10
		}
	}
	tests := []struct {
		name            string
		series          func(int) float64
		q               float64
		wantPeak, wantP float64 // growth.quantile and growth.pointQuantile
	}{
		// One interval in 40 doubles: 4 bases in 40 see it in their peak (10%), 4 lags of 160 in
		// their points (2.5%).
		{"a one-interval spike", every(40, 1), 0.95, 2, 1},
		{"a one-interval spike, past its share of the points", every(40, 1), 0.99, 2, 2},
		// Eight intervals in 40 double: the 4 bases before each see it at 1-4 lags (10 of 160
		// lag samples, 6.25%), the bases inside see no growth.
		{"a burst as long as two lead times", every(40, 8), 0.95, 2, 2},
		{"flat", func(int) float64 { return 10 }, 0.99, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var g growth
			g.setLead(lead, time.Minute, time.Minute)
			for i := range 4000 {
				g.add(tc.series(i), 0)
			}
			peak, ok1 := g.quantile(tc.q)
			point, ok2 := g.pointQuantile(tc.q)
			if !ok1 || !ok2 {
				t.Fatalf("cold after 4000 samples: %v %v", ok1, ok2)
			}
			got := [2]float64{round2(peak), round2(point)}
			if diff := cmp.Diff([2]float64{tc.wantPeak, tc.wantP}, got, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) <= 0.03*b })); diff != "" {
				t.Errorf("quantile(%g) peak, point (-want +got):\n%s", tc.q, diff)
			}
		})
	}
}

func round2(x float64) float64 { return math.Round(x*100) / 100 }

// TestSaturationFloor plans prefill for 2,000-token prompts on the synthetic profile (20,000
// tokens/s per replica at any batch) after two days of history in which the load doubles from 50
// to 100 req/s for six minutes every 100 (the lead time is 3 minutes: 2% of the lag samples see
// the doubling, above the 1% the budget allows). At 50 req/s the floor's load is twice that, 10
// replicas at saturation, and it asks for ceil(10 / 1.1) = 10 (the 10% tolerance band). At 47
// req/s (9.4 at saturation) it keeps 10 replicas, since 9 would be past saturation, and at 42 req/s
// (8.4) it lets them go to ceil(8.4 / 1.1) = 8. (The growth read is the upper edge of its
// histogram bin, up to 2% above 2.) A steady history asks nothing of the floor.
func TestSaturationFloor(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	burst := func(i int) float64 {
		if i%100 < 6 {
			return 100
		}
		return 50
	}
	tests := []struct {
		name    string
		history func(int) float64
		rate    float64
		current int32
		want    int32 // the floor's count; 0 = no floor
	}{
		{"bursts that last the lead time", burst, 50, 6, 10},
		{"within the band: one fewer would be past saturation", burst, 47, 10, 10},
		{"below the band", burst, 42, 10, 8},
		{"a steady load", func(int) float64 { return 50 }, 50, 6, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := NewState(p, Options{Profile: synthProfile(t), NewForecaster: lastValueForecasters(0)})
			var h LoadHistory
			for i := range 2 * 24 * 60 {
				h.RequestRate = append(h.RequestRate, tc.history(i))
				h.InputTokens = append(h.InputTokens, 2000)
				h.OutputTokens = append(h.OutputTokens, 200)
			}
			st.Warm(h)
			obs := steady(t0, tc.rate, map[string]int32{"Frontend": 2, "Prefill": tc.current, "Decode": 2})
			sd := Plan(t0, obs, p, &st).Services[1]
			var got int32
			for _, r := range sd.Reasons {
				if r.Code == CodeSaturationFloor {
					got = r.After
				}
			}
			if got != tc.want {
				t.Errorf("saturation floor %d, want %d (0: none; reasons %v)", got, tc.want, codes(sd))
			}
			if tc.want > 0 && sd.Desired < tc.want {
				t.Errorf("prefill desired %d, below the floor %d", sd.Desired, tc.want)
			}
		})
	}
}
