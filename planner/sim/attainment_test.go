package sim

import (
	"fmt"
	"math"
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
		// 2 of 4 in (1, 2]; x = 1.5 takes half of them: (1 + 2 x 0.5) / 4
		{"between bounds", []float64{0.5, 1.5, 1.5, 3}, 1.5, 0.5, true},
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
