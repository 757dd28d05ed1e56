package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
)

// daily returns n points of a noisy daily cycle (period steps per day) around level, amplitude
// amp, with multiplicative Gaussian noise of relative size noise, from a fixed seed.
func daily(n, period int, level, amp, noise float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	for t := range out {
		v := level + amp*math.Sin(2*math.Pi*float64(t)/float64(period))
		out[t] = math.Max(v*(1+noise*r.NormFloat64()), 0)
	}
	return out
}

// mustNew builds a forecaster or fails the test.
func mustNew(t testing.TB, method string, o Options) Forecaster {
	t.Helper()
	f, err := New(method, o)
	if err != nil {
		t.Fatalf("New(%q): %v", method, err)
	}
	return f
}

// checkPoints fails on a forecast that breaks the Point contract.
func checkPoints(t testing.TB, where string, pts []Point) {
	t.Helper()
	for i, p := range pts {
		ok := !math.IsNaN(p.Value) && !math.IsInf(p.Upper, 0) && p.Lower >= 0 && p.Lower <= p.Value && p.Value <= p.Upper
		if !ok {
			t.Fatalf("%s: point %d = %+v breaks 0 <= Lower <= Value <= Upper < Inf", where, i+1, p)
		}
	}
}

func feed(f Forecaster, vals []float64) {
	for _, v := range vals {
		f.Observe(v)
	}
}
