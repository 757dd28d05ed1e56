package forecast

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// dirtyDaily is a daily series with the dirt the predictors must absorb: missing points, a
// collection gap of exact zeros, short real zero runs and a level shift.
func dirtyDaily(n, period int) []float64 {
	vals := daily(n, period, 500, 200, 0.1, 21)
	for i := range vals {
		switch {
		case i%97 == 0:
			vals[i] = math.NaN()
		case i >= 3*period && i < 3*period+period/4: // a gap (GapSteps = period/24)
			vals[i] = 0
		case i%131 == 0: // an isolated real zero
			vals[i] = 0
		case i >= 5*period:
			vals[i] *= 1.8
		}
	}
	return vals
}

// TestAutoCandidatesKeepOnlyRankingErrors: auto's candidates skip the interval bookkeeping
// nobody reads; auto must forecast exactly as when they keep everything.
func TestAutoCandidatesKeepOnlyRankingErrors(t *testing.T) {
	const P = 48
	tests := []struct {
		name string
		opts Options
	}{
		{"defaults", Options{Period: P}},
		{"short windows", Options{Period: P, MaxHorizon: 4, ErrorWindow: 60, SelectWindow: 30, History: 200}},
		{"no season", Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lean := mustNew(t, MethodAuto, tc.opts).(*predictor)
			full := mustNew(t, MethodAuto, tc.opts).(*predictor)
			a := full.m.(*auto)
			for i, name := range autoCandidates() { // full bookkeeping plus the ranking window
				a.subs[i] = newPredictor(name, &a.o, false)
				a.subs[i].bands.fixed.recent = newErrorStore(a.o, true).recent
			}
			var got, want []Point
			for i, v := range dirtyDaily(8*P, P) {
				lean.Observe(v)
				full.Observe(v)
				got, want = lean.Forecast(got[:0], 6, 0.8), full.Forecast(want[:0], 6, 0.8)
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("point %d: forecast differs (-full +lean):\n%s", i, d)
				}
			}
			if d := cmp.Diff(full.Status(), lean.Status()); d != "" {
				t.Errorf("status differs (-full +lean):\n%s", d)
			}
		})
	}
}

// TestSteadyStateDoesNotAllocate: once every model is fitted and the error windows are full,
// Observe plus Forecast into a reused buffer allocate nothing (refits, which allocate, are
// pushed out of the measured steps).
func TestSteadyStateDoesNotAllocate(t *testing.T) {
	const P = 24
	for _, m := range Methods() {
		t.Run(m, func(t *testing.T) {
			f := mustNew(t, m, Options{Period: P, RefitEvery: 1 << 20, ErrorWindow: 200, SelectWindow: 100})
			vals := daily(40*P, P, 1000, 300, 0.05, 5)
			feed(f, vals[:30*P])
			buf := make([]Point, 0, 6)
			i := 30 * P
			step := func() {
				f.Observe(vals[i])
				buf = f.Forecast(buf[:0], 6, 0.8)
				i++
			}
			if n := testing.AllocsPerRun(5*P, step); n != 0 {
				t.Errorf("%v allocations per step, want 0", n)
			}
		})
	}
}

// TestShorterMaxHorizonKeepsForecasts: tracking errors for fewer horizons (a cheaper
// forecaster) leaves the forecasts up to the shorter MaxHorizon exactly as they were, so a caller
// that never looks further ahead can set MaxHorizon to its lead time.
func TestShorterMaxHorizonKeepsForecasts(t *testing.T) {
	const P = 48
	for _, m := range Methods() {
		t.Run(m, func(t *testing.T) {
			long := mustNew(t, m, Options{Period: P})
			short := mustNew(t, m, Options{Period: P, MaxHorizon: 3})
			var want, got []Point
			for i, v := range dirtyDaily(8*P, P) {
				long.Observe(v)
				short.Observe(v)
				want, got = long.Forecast(want[:0], 3, 0.8), short.Forecast(got[:0], 3, 0.8)
				if d := cmp.Diff(want, got); d != "" {
					t.Fatalf("point %d: forecast differs (-MaxHorizon 12 +MaxHorizon 3):\n%s", i, d)
				}
			}
		})
	}
}
