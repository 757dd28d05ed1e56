package burst

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// scrape samples a cumulative counting function every interval seconds over (0, until].
func scrape(count func(t float64) float64, interval, until float64) []Sample {
	var out []Sample
	for t := interval; t <= until+1e-9; t += interval {
		out = append(out, Sample{T: t, V: count(t)})
	}
	return out
}

// TestIncrease pins PromQL's increase() on hand-computed cases.
func TestIncrease(t *testing.T) {
	linear := scrape(func(t float64) float64 { return t }, 15, 600)              // 1 per second
	reset := []Sample{{15, 100}, {30, 115}, {45, 5}, {60, 20}}                   // restarted between 30 and 45
	late := []Sample{{300, 300}, {315, 315}, {330, 330}, {345, 345}, {360, 360}} // first scraped at 300
	tests := []struct {
		name      string
		samples   []Sample
		t, window float64
		want      float64
		ok        bool
	}{
		// samples 15..60 in (0, 60]: 45 over 45 s, extrapolated 15 s back (to the counter's zero)
		{"aligned, counter from zero", linear, 60, 60, 60, true},
		// samples 315..360 in (300, 360]: 45 over 45 s, 15 s to the start (< 1.1 x 15): 60
		{"aligned, later", linear, 360, 60, 60, true},
		// 7 s after a scrape: samples 315..360 in (307, 367], 8 s and 7 s to the edges: 60
		{"between scrapes", linear, 367, 60, 60, true},
		// samples 300..360 in (240, 360]: 60 s to the start (>= 16.5): only half an interval
		// (7.5 s) back: 60 x 67.5 / 60
		{"series starts inside the window", late, 360, 120, 67.5, true},
		{"one sample", linear, 20, 10, 0, false},
		// 115 before the reset + 15 after it (5 -> 20) + 15 before it (100 -> 115) = 35 over 45 s;
		// zero lies 45 x 100/35 s before the first sample, further than the 15 s to the start: 35 x 60/45
		{"counter reset", reset, 60, 60, 35 * 60.0 / 45, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Increase(tt.samples, tt.t, tt.window)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Increase = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestCV: the estimator on a deterministic alternating load (hand-computed), a Poisson stream
// (about 1), a Poisson stream whose rate triples inside the range (still about 1: one step is not
// burstiness: the mean of the squared differences reads its one difference of about 1,200 as
// sqrt((1200^2 / 30) / (2 x 1413)) = 4.1; 4.2 and 4.5 for the two seeds) and no traffic (no value).
func TestCV(t *testing.T) {
	// 30 requests in even minutes, 90 in odd ones, spread evenly: N alternates 30, 90. At t =
	// 7200 over 30 min the points are 5400..7200 (31, the range's start included): 16 odd
	// minutes (90) and 15 even ones (30), every (N - prev)^2 = 3600, so its median is 3600,
	// A = 3600 / (2 x Chi1Median x 1890/31) and CV = sqrt(A) = 8.0558.
	var alternating []Sample
	c := 0.0
	for t := 15.0; t <= 7200; t += 15 {
		if int(math.Floor((t-1e-9)/60))%2 == 0 {
			c += 7.5
		} else {
			c += 22.5
		}
		alternating = append(alternating, Sample{T: t, V: c})
	}
	// poisson scrapes a Poisson stream every 15 s for two hours: 10/s, or 30/s from t = 6000 s
	// (minute 100 of the range's 90..120) when step is set.
	poisson := func(seed uint64, step bool) []Sample {
		r := rand.New(rand.NewPCG(seed, 2))
		var out []Sample
		n, next := 0.0, r.ExpFloat64()/10
		for t := 15.0; t <= 7200; t += 15 {
			for next <= t {
				n++
				rate := 10.0
				if step && next >= 6000 {
					rate = 30
				}
				next += r.ExpFloat64() / rate
			}
			out = append(out, Sample{T: t, V: n})
		}
		return out
	}
	flat := scrape(func(float64) float64 { return 7 }, 15, 7200)
	tests := []struct {
		name     string
		samples  []Sample
		want     float64
		tol      float64
		wantSome bool
	}{
		{"alternating 30/90 per minute", alternating, math.Sqrt(3600 / (2 * Chi1Median * 1890.0 / 31)), 1e-9, true},
		{"Poisson at 10/s", poisson(1, false), 1, 0.3, true},
		// Poisson at the high rate alone reads sqrt(3600 / (2 x 1413)) = 1.13 against the range's
		// mean count; the median of 30 squared differences is noisier than their mean.
		{"Poisson, 10/s tripling within the range", poisson(3, true), 1, 0.5, true},
		{"the same, another seed", poisson(4, true), 1, 0.5, true},
		{"no traffic", flat, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := CV(tt.samples, 7200, 60, 1800)
			if ok != tt.wantSome || (ok && math.Abs(got-tt.want) > tt.tol) {
				t.Errorf("CV = %.4f, %v; want %.4f (+-%g), %v", got, ok, tt.want, tt.tol, tt.wantSome)
			}
		})
	}
}

// TestQuery pins the PromQL the live adapter sends.
func TestQuery(t *testing.T) {
	q := Query(`c{m="x"}`)
	for _, want := range []string{
		`sum(increase(c{m="x"}[${cvstep}]))`,
		`sum(increase(c{m="x"}[${cvstep}] offset ${cvstep}))`,
		`[${cvrange}:${cvstep}]`,
		`sqrt(quantile_over_time(0.5, ((`,
		`/ (0.9098728462391455 * avg_over_time(`,
	} {
		if !strings.Contains(q, want) {
			t.Errorf("query %s lacks %s", q, want)
		}
	}
}
