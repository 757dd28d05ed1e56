package forecast

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		method string
		opts   Options
		want   string
	}{
		{"unknown method", "prophet", Options{}, "unknown forecast method"},
		{"negative period", MethodAR, Options{Period: -1}, "Period: -1 is negative"},
		{"one-point window", MethodLinear, Options{Window: 1}, "Window: 1 point"},
		{"huge horizon", MethodLast, Options{MaxHorizon: 1 << 20}, "implausibly large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.method, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	if _, err := New("nope", Options{}); !errors.Is(err, ErrUnknownMethod) {
		t.Errorf("unknown method error %v does not wrap ErrUnknownMethod", err)
	}
}

func TestEveryMethodIsConstructible(t *testing.T) {
	for _, m := range Methods() {
		f := mustNew(t, m, Options{Period: 24})
		if f.Name() != m {
			t.Errorf("New(%q).Name() = %q", m, f.Name())
		}
		if _, ok := f.(Describer); !ok {
			t.Errorf("New(%q) does not implement Describer", m)
		}
	}
}

// TestConstantSeries: every method forecasts a constant series as that constant.
func TestConstantSeries(t *testing.T) {
	const level = 42.0
	vals := make([]float64, 24*5)
	for i := range vals {
		vals[i] = level
	}
	for _, m := range Methods() {
		t.Run(m, func(t *testing.T) {
			f := mustNew(t, m, Options{Period: 24})
			feed(f, vals)
			pts := f.Forecast(nil, 30, 0.9)
			checkPoints(t, m, pts)
			for i, p := range pts {
				if math.Abs(p.Value-level) > 1e-6*level {
					t.Fatalf("h=%d: %v, want %v", i+1, p.Value, level)
				}
			}
		})
	}
}

// TestExactStructure: methods recover the structure they model exactly.
func TestExactStructure(t *testing.T) {
	const P = 24
	ramp := func(t int) float64 { return 100 + 2*float64(t) }
	cycle := func(t int) float64 { return 100 + 30*math.Sin(2*math.Pi*float64(t)/P) }
	tests := []struct {
		name   string
		method string
		gen    func(int) float64
		tol    float64 // relative
	}{
		{"linear extrapolates a ramp", MethodLinear, ramp, 1e-9},
		{"kalman follows a ramp", MethodKalman, ramp, 0.01},
		{"seasonal naive repeats a cycle", MethodSeasonalNaive, cycle, 1e-12},
		{"holt-winters learns a cycle", MethodHoltWinters, cycle, 0.02},
		{"ar learns a cycle", MethodAR, cycle, 0.02},
		{"auto learns a cycle", MethodAuto, cycle, 0.02},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustNew(t, tc.method, Options{Period: P})
			n := 10 * P
			for i := range n {
				f.Observe(tc.gen(i))
			}
			for i, p := range f.Forecast(nil, 12, 0.9) {
				want := tc.gen(n + i)
				if math.Abs(p.Value-want) > tc.tol*want {
					t.Errorf("h=%d: %.4f, want %.4f within %g%%", i+1, p.Value, want, 100*tc.tol)
				}
			}
		})
	}
}

// TestShortHistoryFallsBack: with too little history a method says it uses a simpler one.
func TestShortHistoryFallsBack(t *testing.T) {
	tests := []struct {
		method     string
		points     int
		wantActive string
	}{
		{MethodSeasonalNaive, 5, MethodLast},
		{MethodHoltWinters, 3, MethodLast},
		{MethodAR, 15, MethodSeasonalNaive},
		{MethodLinear, 2, MethodLast},
		{MethodKalman, 4, MethodLast},
	}
	for _, tc := range tests {
		t.Run(tc.method, func(t *testing.T) {
			f := mustNew(t, tc.method, Options{Period: 12})
			feed(f, daily(tc.points, 12, 50, 10, 0.05, 1))
			st := f.(Describer).Status()
			want := Status{Method: tc.method, Active: tc.wantActive, Observed: tc.points}
			if diff := cmp.Diff(want, st, cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".Reason" || p.Last().String() == ".Refits"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("Status (-want +got):\n%s", diff)
			}
			if !strings.Contains(st.Reason, "not ready") {
				t.Errorf("Reason %q does not say why", st.Reason)
			}
			checkPoints(t, tc.method, f.Forecast(nil, 6, 0.9))
		})
	}
}

// TestGapIsMissing: a multi-hour block of zeros is treated as missing, so forecasts after it
// stay at the series' level instead of collapsing toward zero.
func TestGapIsMissing(t *testing.T) {
	const P = 48
	vals := daily(8*P, P, 1000, 300, 0.03, 2)
	for i := 6 * P; i < 6*P+8; i++ { // four hours of zeros at 30-minute steps
		vals[i] = 0
	}
	for _, m := range Methods() {
		t.Run(m, func(t *testing.T) {
			f := mustNew(t, m, Options{Period: P})
			feed(f, vals[:6*P+8])
			st := f.(Describer).Status()
			if st.Missing != 8 {
				t.Errorf("Status.Missing = %d, want the 8 gap points", st.Missing)
			}
			pts := f.Forecast(nil, 3, 0.9)
			checkPoints(t, m, pts)
			if pts[0].Value < 300 {
				t.Errorf("forecast after the gap %.1f: collapsed toward the gap's zeros", pts[0].Value)
			}
		})
	}
}

// TestShortZeroRunIsReal: zeros shorter than GapSteps are real data.
func TestShortZeroRunIsReal(t *testing.T) {
	f := mustNew(t, MethodLast, Options{Period: 48})
	feed(f, []float64{5, 5, 0})
	if got := f.Forecast(nil, 1, 0.9)[0].Value; got != 0 {
		t.Errorf("forecast after one zero = %v, want 0 (a single zero is not a gap)", got)
	}
	if st := f.(Describer).Status(); st.Missing != 0 {
		t.Errorf("Missing = %d, want 0", st.Missing)
	}
}

// TestLevelShift: after a sudden tripling, every method's forecast moves to the new level.
func TestLevelShift(t *testing.T) {
	const P = 24
	vals := daily(6*P, P, 100, 20, 0.02, 3)
	for i := 5 * P; i < len(vals); i++ {
		vals[i] *= 3
	}
	for _, m := range Methods() {
		t.Run(m, func(t *testing.T) {
			f := mustNew(t, m, Options{Period: P})
			feed(f, vals)
			if m == MethodSeasonalNaive {
				return // by construction it lags a full season
			}
			got := f.Forecast(nil, 1, 0.9)[0].Value
			if got < 200 {
				t.Errorf("one-step forecast %.1f a day after the level tripled to ~300", got)
			}
		})
	}
}

// TestDirtyInputs: NaN, infinities and negatives never produce a panic or a broken point.
func TestDirtyInputs(t *testing.T) {
	inputs := map[string][]float64{
		"nan":       {math.NaN(), 1, math.NaN(), math.NaN(), 3},
		"negatives": {-5, 3, -1, 2, -100},
		"infinite":  {math.Inf(1), 2, math.Inf(-1), 4},
		"all zero":  make([]float64, 100),
		"empty":     nil,
		"huge":      {1e300, 1e-300, 1e300, 0, 1e300},
	}
	for name, vals := range inputs {
		for _, m := range Methods() {
			t.Run(name+"/"+m, func(t *testing.T) {
				f := mustNew(t, m, Options{Period: 4})
				for i := 0; i < 5; i++ {
					feed(f, vals)
					checkPoints(t, m, f.Forecast(nil, 8, 0.9))
				}
			})
		}
	}
}

// TestCloneIsIndependent: observing into a clone leaves the original's forecast unchanged.
func TestCloneIsIndependent(t *testing.T) {
	for _, m := range Methods() {
		t.Run(m, func(t *testing.T) {
			f := mustNew(t, m, Options{Period: 12})
			feed(f, daily(60, 12, 50, 10, 0.1, 4))
			before := f.Forecast(nil, 6, 0.8)
			c := f.Clone()
			feed(c, []float64{500, 700, 900, 1100, 1300})
			if diff := cmp.Diff(before, f.Forecast(nil, 6, 0.8)); diff != "" {
				t.Errorf("original changed after observing into its clone (-before +after):\n%s", diff)
			}
			feed(f, []float64{500, 700, 900, 1100, 1300})
			if diff := cmp.Diff(f.Forecast(nil, 6, 0.8), c.Forecast(nil, 6, 0.8)); diff != "" {
				t.Errorf("clone and original diverged on the same input (-orig +clone):\n%s", diff)
			}
		})
	}
}

// TestRefitsAreIncremental: refits happen on a schedule, not on every point.
func TestRefitsAreIncremental(t *testing.T) {
	const P = 24
	vals := daily(20*P, P, 100, 20, 0.05, 5)
	for _, m := range []string{MethodHoltWinters, MethodAR, MethodKalman} {
		t.Run(m, func(t *testing.T) {
			f := mustNew(t, m, Options{Period: P, RefitEvery: P})
			feed(f, vals)
			st := f.(Describer).Status()
			if limit := 2*len(vals)/P + 2; st.Refits > limit || st.Refits == 0 {
				t.Errorf("%d refits over %d points, want 1..%d", st.Refits, len(vals), limit)
			}
		})
	}
}

// TestIntervalCoverage: on a noisy stationary cycle the upper bound at q covers about q.
func TestIntervalCoverage(t *testing.T) {
	const P = 24
	vals := daily(40*P, P, 100, 30, 0.1, 6)
	for _, m := range []string{MethodLast, MethodSeasonalNaive, MethodAR, MethodAuto} {
		t.Run(m, func(t *testing.T) {
			f := mustNew(t, m, Options{Period: P})
			fc := Replay(f, vals, 3, 0.8)
			s := Score(vals, fc, warmup(len(vals), 10*P), 1, 0.9)
			if s.UnderUpper < 0.85 || s.UnderUpper > 0.95 {
				t.Errorf("upper bound (q0.9) covers %.1f%% of %d points, want 85-95%%", 100*s.UnderUpper, s.N)
			}
		})
	}
}

func warmup(n, k int) []bool {
	skip := make([]bool, n)
	for i := range min(k, n) {
		skip[i] = true
	}
	return skip
}

// TestForecastBeyondMaxHorizon: horizons past MaxHorizon still come back, with wider bands.
func TestForecastBeyondMaxHorizon(t *testing.T) {
	f := mustNew(t, MethodAR, Options{Period: 24, MaxHorizon: 4})
	feed(f, daily(24*6, 24, 100, 30, 0.1, 7))
	pts := f.Forecast(nil, 20, 0.9)
	if len(pts) != 20 {
		t.Fatalf("%d points, want 20", len(pts))
	}
	checkPoints(t, "ar", pts)
	w4, w20 := pts[3].Upper/pts[3].Value, pts[19].Upper/pts[19].Value
	if w20 <= w4 {
		t.Errorf("relative upper band at h=20 (%.3f) not wider than at h=4 (%.3f)", w20, w4)
	}
	if got := f.Forecast(nil, 0, 0.9); len(got) != 0 {
		t.Errorf("Forecast(h=0) returned %d points", len(got))
	}
}

// TestAutoExplainsItsChoice: auto's status names the blend per horizon.
func TestAutoExplainsItsChoice(t *testing.T) {
	f := mustNew(t, MethodAuto, Options{Period: 24})
	feed(f, daily(24*10, 24, 100, 40, 0.02, 8))
	st := f.(Describer).Status()
	if st.Active != MethodAuto || !strings.Contains(st.Reason, "h=1:") || !strings.Contains(st.Reason, "h=12:") {
		t.Errorf("Status %+v does not name auto's blend per horizon", st)
	}
}
