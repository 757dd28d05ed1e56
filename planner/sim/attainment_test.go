package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner"
)

// TestPromHistFraction pins the attainment fraction on hand-computed cases over bounds
// 0, 1, 2, 4 (what the metrics adapter computes from the same buckets).
func TestPromHistFraction(t *testing.T) {
	bounds := []float64{0, 1, 2, 4}
	tests := []struct {
		name   string
		obs    []float64
		x      float64
		want   float64
		wantOK bool
	}{
		{"empty", nil, 1, 0, false},
		{"on a bound", []float64{0.5, 1.5, 3, 9}, 2, 0.5, true},
		// 2 of 4 in (1, 2]; the tail's rate over (0, 1] is log(4/3) per unit (4 above 0, 3 above
		// 1), so above 1.5 are 3 x (3/4)^0.5 = 2.598 (planner.WithinTarget): (4 - 2.598) / 4
		{"between bounds", []float64{0.5, 1.5, 1.5, 3}, 1.5, (4 - 3*math.Sqrt(0.75)) / 4, true},
		// (0, 1] holds 1 of 2; x = 0.25 takes a quarter of it, interpolated from 0
		{"in the lowest bucket above 0", []float64{0.5, 3}, 0.25, 0.125, true},
		// 9 is in +Inf: above every finite bound it counts as a miss
		{"above the highest bound", []float64{0.5, 9}, 10, 0.5, true},
		{"all within", []float64{0.5, 0.5}, 4, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h promHist
			for _, x := range tt.obs {
				h.observe(bounds, x, 1)
			}
			got, ok := h.fraction(bounds, tt.x)
			if ok != tt.wantOK || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("fraction(%v) = %v, %v; want %v, %v", tt.x, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// TestObservedAttainment replays hand-made outcomes through the simulator's observer (SLO: TTFT
// 300 ms, ITL 25 ms; Dynamo's buckets; a decision every minute over a 1-minute window, scraped
// every 15 s; the query lands just before its tick's scrape, so each decision at t sees the
// events of [t-60 s, t-15 s)):
//
//   - 0-170 s: each second one fast request (TTFT 0.1 s, 11 tokens 10 ms apart) and one slow
//     (TTFT 0.9 s, 31 tokens 60 ms apart): half the requests meet the TTFT target, but only 10
//     of every 40 token gaps meet the ITL target (ITL is counted per token, as Dynamo does);
//   - 300-480 s: one request a second with TTFT 0.4 s and 5 tokens 30 ms apart, inside the
//     buckets (0.22, 0.47] and (0.024, 0.045]: interpolated, (0.3-0.22)/0.25 and 0.001/0.021;
//   - otherwise nothing: missing, never zero.
//
// At every decision the attainment signals are known exactly when the mean TTFT and ITL are: the
// same buckets, the same lag.
func TestObservedAttainment(t *testing.T) {
	sec := func(x float64) time.Duration { return time.Duration(x * float64(time.Second)) }
	var outs []Outcome
	add := func(at, ttft float64, tokens int, gap float64) {
		req := Request{Arrival: sec(at), InputTokens: 100, OutputTokens: tokens}
		outs = append(outs, Outcome{Request: req, FirstToken: sec(at + ttft), Done: sec(at + ttft + gap*float64(tokens-1))})
	}
	for s := range 170 {
		add(float64(s), 0.1, 11, 0.01)
		add(float64(s), 0.9, 31, 0.06)
	}
	for s := 300; s < 480; s++ {
		add(float64(s), 0.4, 5, 0.03)
	}
	add(700, 0.1, 2, 0.01) // the replay runs until the last event: past the idle decision at 540 s
	obs, err := ObserveOutcomes(testDeployment(t, 1, 1), outs, Cadence{Interval: time.Minute, Window: time.Minute},
		Options{ScrapeInterval: 15 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	missing := planner.Unknown("NaN")
	tests := []struct {
		at        int // seconds
		ttft, itl planner.Value
	}{
		// (at 60 s the window begins before the first slow completion: not half and half)
		{120, planner.Known(0.5), planner.Known(0.25)},
		{180, planner.Known(0.5), planner.Known(0.25)},
		{240, missing, missing},
		{300, missing, missing},
		{360, planner.Known(0.08 / 0.25), planner.Known(0.001 / 0.021)},
		{420, planner.Known(0.08 / 0.25), planner.Known(0.001 / 0.021)},
		{480, planner.Known(0.08 / 0.25), planner.Known(0.001 / 0.021)},
		{540, missing, missing},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("at %ds", tc.at), func(t *testing.T) {
			if tc.at/60 > len(obs) {
				t.Fatalf("%d decisions, none at %d s", len(obs), tc.at)
			}
			o := obs[tc.at/60-1]
			for _, c := range []struct {
				name      string
				got, want planner.Value
			}{{"TTFTAttained", o.TTFTAttained, tc.ttft}, {"ITLAttained", o.ITLAttained, tc.itl}} {
				if c.got.OK != c.want.OK || c.got.OK && math.Abs(c.got.V-c.want.V) > 1e-9 ||
					!c.got.OK && !strings.HasPrefix(c.got.Missing, c.want.Missing) {
					t.Errorf("%s = %+v, want %+v", c.name, c.got, c.want)
				}
			}
		})
	}
	for i, o := range obs {
		if o.TTFTAttained.OK != o.TTFT.OK || o.ITLAttained.OK != o.ITL.OK {
			t.Errorf("decision %d: attainment known %v/%v but means known %v/%v: not the same lag",
				i, o.TTFTAttained.OK, o.ITLAttained.OK, o.TTFT.OK, o.ITL.OK)
		}
	}
}

// TestAttainmentAgainstTruth measures the observed TTFT attainment against the requests' own
// TTFTs: 30 minutes of Poisson arrivals (log-normal prompts, mean ~2,300 tokens) on one prefill
// engine, from light load to overload, SLO 300 ms. The observed value is each decision's
// TTFTAttained weighted by its request rate.
//
// In Dynamo's default buckets the 300 ms target lies inside (0.22, 0.47], where the TTFT
// density falls steeply; linear interpolation assumes it flat, so it puts too little of the
// bucket below the target and understates attainment (overstates misses up to about 3x near
// 99%). Here the estimate is therefore conservative for an error budget: it may tighten too
// early, not loosen too early. That holds where the density falls across the target's bucket (a
// target in the tail, as an SLO target is); below the mode it would err the other way. With a
// bucket bound at the target (the same run, the 0.22 bound moved to 0.3) it is exact up to the
// windows' sampling.
func TestAttainmentAgainstTruth(t *testing.T) {
	tests := []struct {
		name          string
		boundAtTarget bool
		below, above  float64 // observed - truth must lie in [-below, above]
	}{
		{"Dynamo's default buckets: conservative", false, 0.06, 0.002},
		{"a bucket bound at the target: unbiased", true, 0.005, 0.005},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, rate := range []float64{4, 8, 12, 16, 20} {
				truth, observed := ttftAttainment(t, rate, tc.boundAtTarget)
				t.Logf("%2.0f req/s: truth %.4f, observed %.4f", rate, truth, observed)
				if d := observed - truth; d < -tc.below || d > tc.above {
					t.Errorf("%g req/s: observed %.4f vs truth %.4f: off by %+.4f, want within [-%g, +%g]",
						rate, observed, truth, d, tc.below, tc.above)
				}
			}
		})
	}
}

// ttftAttainment runs the world at rate and returns the share of served requests whose TTFT met
// the target, and the rate-weighted mean of the observed TTFTAttained.
func ttftAttainment(t *testing.T, rate float64, boundAtTarget bool) (truth, observed float64) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	wl := Workload{Name: "poisson", Duration: 30 * time.Minute}
	for at := 0.0; at < wl.Duration.Seconds(); at += r.ExpFloat64() / rate {
		wl.Requests = append(wl.Requests, Request{Arrival: time.Duration(at * float64(time.Second)),
			InputTokens: int(math.Exp(7.6+0.5*r.NormFloat64())) + 1, OutputTokens: int(math.Exp(5+0.6*r.NormFloat64())) + 2})
	}
	d := testDeployment(t, 1, 1)
	f := &fixed{}
	w, err := newWorld(d, wl, f, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if boundAtTarget {
		w.obs.bounds.ttft = slices.Clone(w.obs.bounds.ttft)
		i := slices.Index(w.obs.bounds.ttft, 0.22)
		if i < 0 {
			t.Fatalf("no 0.22 bound in %v", w.obs.bounds.ttft)
		}
		w.obs.bounds.ttft[i] = d.TTFT.Seconds()
	}
	w.loop()
	var served, met float64
	for _, ft := range w.first {
		if !math.IsNaN(float64(ft)) {
			served++
			if float64(ft) <= d.TTFT.Seconds() {
				met++
			}
		}
	}
	var sum, weight float64
	for _, o := range f.seen {
		if o.TTFTAttained.OK && o.RequestRate.OK {
			sum += o.TTFTAttained.V * o.RequestRate.V
			weight += o.RequestRate.V
		}
	}
	return met / served, sum / weight
}
