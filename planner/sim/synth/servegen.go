package synth

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/workload"
	"gonum.org/v1/gonum/stat/distuv"
)

// ServeGenOptions choose the span of a ServeGen replay and its scale.
type ServeGenOptions struct {
	// Start and Duration select the windows replayed (from t = 0, local midnight of day 1);
	// Duration 0 replays to the end. Arrivals keep their offsets relative to Start.
	Start, Duration time.Duration
	// RateScale multiplies every client's rate (1 if 0).
	RateScale float64
	Seed      uint64
	Tokens    TokenSource
}

// ServeGen synthesises per-request arrivals from ServeGen's per-client windows: in every window a
// client is active, inter-arrival gaps are drawn from the window's fitted distribution (Gamma with
// shape a and scale, or Weibull with shape c and scale) and rescaled so their mean is
// 1 / (rate x RateScale): the window's rate is kept in expectation, its burstiness (the fitted
// shape, hence the CV) exactly. A window with an unusable fit falls back to exponential gaps
// (Poisson). This follows the ServeGen paper's generator (Xiang et al., arXiv:2505.09999, §6).
func ServeGen(sg *workload.ServeGen, o ServeGenOptions) (sim.Workload, error) {
	if sg == nil || len(sg.Clients) == 0 || sg.Window <= 0 {
		return sim.Workload{}, errors.New("synthesising ServeGen arrivals: no clients or windows")
	}
	if o.Tokens == nil {
		return sim.Workload{}, errors.New("synthesising ServeGen arrivals: no token source (use --tokens-from)")
	}
	if o.RateScale == 0 {
		o.RateScale = 1
	}
	if !(o.RateScale > 0) || math.IsInf(o.RateScale, 0) || o.Start < 0 || o.Duration < 0 {
		return sim.Workload{}, fmt.Errorf("synthesising ServeGen arrivals: bad options (rate scale %v, start %v, duration %v)",
			o.RateScale, o.Start, o.Duration)
	}
	end := o.Start + o.Duration
	if o.Duration == 0 {
		end = time.Duration(math.MaxInt64)
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x5e12_6e4e))
	var arrivals []float64
	last := time.Duration(0)
	for _, c := range sg.Clients {
		for _, w := range c.Windows {
			if w.Start < o.Start || w.Start >= end || !(w.Rate > 0) {
				continue
			}
			lo := (w.Start - o.Start).Seconds()
			arrivals = drawWindow(r, arrivals, w, lo, lo+sg.Window.Seconds(), w.Rate*o.RateScale)
			last = max(last, w.Start-o.Start+sg.Window)
		}
	}
	slices.Sort(arrivals)
	wl := sim.Workload{Name: "servegen", Duration: last, Requests: make([]sim.Request, len(arrivals))}
	for i, a := range arrivals {
		in, out := o.Tokens.Draw(r)
		wl.Requests[i] = sim.Request{Arrival: time.Duration(a * float64(time.Second)), InputTokens: in, OutputTokens: out}
	}
	return wl, nil
}

// drawWindow appends the arrivals of one client-window [lo, hi) at the given rate.
func drawWindow(r *rand.Rand, out []float64, w workload.Window, lo, hi, rate float64) []float64 {
	gap, mean := gapSampler(r, w)
	k := 1 / (rate * mean) // rescale so the mean gap is 1/rate
	for t := lo + gap()*k; t < hi; t += gap() * k {
		out = append(out, t)
	}
	return out
}

// gapSampler returns a sampler of the window's fitted inter-arrival distribution and its mean.
func gapSampler(r *rand.Rand, w workload.Window) (func() float64, float64) {
	ok := w.Shape > 0 && w.Scale > 0 && !math.IsInf(w.Shape, 0) && !math.IsInf(w.Scale, 0)
	switch {
	case ok && w.Pattern == "Gamma":
		g := distuv.Gamma{Alpha: w.Shape, Beta: 1 / w.Scale, Src: r}
		return g.Rand, g.Mean()
	case ok && w.Pattern == "Weibull":
		d := distuv.Weibull{K: w.Shape, Lambda: w.Scale, Src: r}
		if m := d.Mean(); m > 0 && !math.IsInf(m, 0) {
			return d.Rand, m
		}
	}
	return r.ExpFloat64, 1
}
