package forecast

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fineDaily is n points of a daily cycle at period points per day whose deviations from the
// cycle persist (an AR(1) of the log level, coefficient 0.98 per point) plus independent
// measurement noise: a rate read at a fine step, where neighbouring points share most of their
// window.
func fineDaily(n, period int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 2))
	out := make([]float64, n)
	dev := 0.0
	for t := range out {
		dev = 0.98*dev + 0.02*r.NormFloat64()
		v := 100 + 60*math.Sin(2*math.Pi*float64(t)/float64(period))
		out[t] = math.Max(v*math.Exp(dev)*(1+0.03*r.NormFloat64()), 0)
	}
	return out
}

// accuracy replays method with opts on vals at horizons 1..h (scored after skip points) and
// returns the scores at each horizon.
func accuracy(t *testing.T, method string, opts Options, vals []float64, h, skip int) []Scores {
	t.Helper()
	f := mustNew(t, method, opts)
	mask := warmup(len(vals), skip)
	if opts.GapSteps > 0 {
		for i, g := range GapMask(vals, opts.GapSteps) {
			mask[i] = mask[i] || g
		}
	}
	scale := NaiveScale(vals, mask)
	fcs := make([][]Point, h)
	for k := range fcs {
		fcs[k] = make([]Point, len(vals))
		for i := range fcs[k] {
			fcs[k][i] = Point{math.NaN(), math.NaN(), math.NaN()}
		}
	}
	var buf []Point
	for i, v := range vals {
		f.Observe(v)
		buf = f.Forecast(buf[:0], h, 0.8)
		checkPoints(t, method, buf)
		for k := range h {
			if i+k+1 < len(vals) {
				fcs[k][i+k+1] = buf[k]
			}
		}
	}
	out := make([]Scores, h)
	for k := range h {
		out[k] = Score(vals, fcs[k], mask, scale, 0.9)
	}
	return out
}

// TestCoarseAccuracy replays auto on the series itself and through AggregateFor's coarse series
// (m-small and a dirty series: 6-point means of 10-minute points; generated one-minute series:
// 60-point means) and
// requires the coarse forecaster to stay close to the fine one: sMAPE at most 10% higher at every
// horizon and the q0.9 upper bound covering 85-95% of actuals. The scores are logged (go test -v).
func TestCoarseAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 3 x 14,400 points")
	}
	tests := []struct {
		name            string
		vals            []float64
		period, h, skip int
		gap             int
	}{
		{"m-small 10m", readMSmall(t), 144, 6, 144 * 7, 1},
		{"generated 1m", fineDaily(1440*10, 1440, 3), 1440, 5, 1440 * 7, 0},
		// Held out from the choice of sketchRecency and SeasonPoints:
		{"generated 1m, other seed", fineDaily(1440*10, 1440, 9), 1440, 5, 1440 * 7, 0},
		{"generated 1m, independent noise", daily(1440*10, 1440, 1000, 400, 0.08, 44), 1440, 5, 1440 * 7, 0},
		{"dirty 10m (gaps, zeros, level shift)", dirtyDaily(144*14, 144), 144, 5, 144 * 7, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			opts := Options{Period: tc.period, MaxHorizon: tc.h, GapSteps: tc.gap}
			fine := accuracy(t, MethodAuto, opts, tc.vals, tc.h, tc.skip)
			opts.Aggregate = AggregateFor(tc.period, 14*tc.period)
			coarse := accuracy(t, MethodAuto, opts, tc.vals, tc.h, tc.skip)
			for k := range tc.h {
				f, c := fine[k], coarse[k]
				t.Logf("h=%d: sMAPE %.2f -> %.2f, MASE %.3f -> %.3f, q0.9 covers %.3f -> %.3f, pinball %.3f -> %.3f",
					k+1, f.SMAPE, c.SMAPE, f.MASE, c.MASE, f.UnderUpper, c.UnderUpper, f.Pinball, c.Pinball)
				if c.SMAPE > 1.1*f.SMAPE {
					t.Errorf("h=%d: sMAPE %.2f with %d-point means, %.2f without: more than 10%% worse", k+1, c.SMAPE, opts.Aggregate, f.SMAPE)
				}
				if c.UnderUpper < 0.85 || c.UnderUpper > 0.95 {
					t.Errorf("h=%d: q0.9 upper bound covers %.1f%%, want 85-95%%", k+1, 100*c.UnderUpper)
				}
			}
		})
	}
}

func TestAggregateFor(t *testing.T) {
	tests := []struct {
		name            string
		period, history int
		want            int
	}{
		{"daily at 15s", 5760, 14 * 5760, 240},
		{"daily at 60s", 1440, 14 * 1440, 60},
		{"daily at 10m", 144, 2016, 6},
		{"already coarse", 24, 336, 1},
		{"smallest divisor above the bound", 100, 1000, 5},
		{"period without a fitting divisor", 97, 970, 5},
		{"no season, long history", 0, 80640, 240},
		{"no season, short history", 0, 336, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := AggregateFor(tc.period, tc.history); got != tc.want {
				t.Errorf("AggregateFor(%d, %d) = %d, want %d", tc.period, tc.history, got, tc.want)
			}
		})
	}
}

// TestCoarseConstant: a constant series forecasts itself, with a band no wider than the error
// sketch's resolution near zero (a bin is about 1.1e-4 wide in log ratio, applied to the level
// plus the mean level: 0.025% of the level here).
func TestCoarseConstant(t *testing.T) {
	f := mustNew(t, MethodAuto, Options{Period: 96, Aggregate: 4})
	feed(f, daily(5*96, 96, 50, 0, 0, 1))
	got := f.Forecast(nil, 8, 0.8)
	for i, p := range got {
		if math.Abs(p.Value-50) > 1e-9 || math.Abs(p.Upper-50) > 100*1.25e-4 || math.Abs(p.Lower-50) > 100*1.25e-4 {
			t.Errorf("h=%d: %+v, want 50 with a band within 0.025%%", i+1, p)
		}
	}
}

// TestCoarseSteadyStateDoesNotAllocate: between the method's refits, Observe and Forecast into a
// reused buffer allocate nothing, for every method.
func TestCoarseSteadyStateDoesNotAllocate(t *testing.T) {
	const P = 96
	for _, m := range Methods() {
		t.Run(m, func(t *testing.T) {
			f := mustNew(t, m, Options{Period: P, Aggregate: 4, RefitEvery: 1 << 20, MaxHorizon: 5})
			vals := daily(20*P, P, 1000, 300, 0.05, 5)
			feed(f, vals[:15*P])
			buf := make([]Point, 0, 5)
			i := 15 * P
			step := func() {
				f.Observe(vals[i])
				buf = f.Forecast(buf[:0], 5, 0.8)
				i++
			}
			if n := testing.AllocsPerRun(2*P, step); n != 0 {
				t.Errorf("%v allocations per step, want 0", n)
			}
		})
	}
}

// TestCoarseCloneIsIndependent: a clone forecasts as the original on the same inputs, and
// feeding one leaves the other unchanged.
func TestCoarseCloneIsIndependent(t *testing.T) {
	const P = 96
	vals := dirtyDaily(6*P, P)
	f := mustNew(t, MethodAuto, Options{Period: P, Aggregate: 4})
	feed(f, vals[:4*P])
	c := f.Clone()
	before := f.Forecast(nil, 6, 0.8)
	feed(c, vals[4*P:5*P])
	if d := cmp.Diff(before, f.Forecast(nil, 6, 0.8)); d != "" {
		t.Errorf("feeding the clone changed the original (-before +after):\n%s", d)
	}
	feed(f, vals[4*P:5*P])
	if d := cmp.Diff(f.Forecast(nil, 6, 0.8), c.Forecast(nil, 6, 0.8)); d != "" {
		t.Errorf("original and clone differ on the same inputs (-original +clone):\n%s", d)
	}
}

// TestCoarseStatus names the method on the means and counts the fine points.
func TestCoarseStatus(t *testing.T) {
	f := mustNew(t, MethodHoltWinters, Options{Period: 96, Aggregate: 4})
	vals := dirtyDaily(4*96, 96)
	feed(f, vals)
	s := f.(Describer).Status()
	if s.Method != MethodHoltWinters || !strings.Contains(s.Active, "on 4-point means") || s.Observed != len(vals) || s.Refits == 0 {
		t.Errorf("Status = %+v, want holt-winters on 4-point means, %d observed, refits counted", s, len(vals))
	}
}
