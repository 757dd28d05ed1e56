package synth

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/planner/workload"
)

// History is the past load a live planner would read from Prometheus at start-up (see
// planner.State.Warm), for the span before a replayed workload.

// ServeGenHistory returns the model's aggregate load over [start - span, start) at step
// resolution, rates multiplied by rateScale: each 10-min window's summed client rate repeated
// over its steps. A window no client reports, or whose aggregate is exactly zero (a collection
// gap in the published data), is missing (NaN). Token means are the workload's (constant).
func ServeGenHistory(sg *workload.ServeGen, start, span, step time.Duration, rateScale float64, wl sim.Workload) planner.LoadHistory {
	agg := sg.Aggregate()
	in, out := meanTokens(wl)
	var h planner.LoadHistory
	if step <= 0 || agg.Step <= 0 {
		return h
	}
	for t := max(start-span, 0); t < start; t += step {
		i := int((t - agg.Start) / agg.Step)
		r := math.NaN()
		if t >= agg.Start && i < len(agg.Values) && agg.Values[i] > 0 {
			r = agg.Values[i] * rateScale
		}
		h.RequestRate = append(h.RequestRate, r)
		h.InputTokens = append(h.InputTokens, in)
		h.OutputTokens = append(h.OutputTokens, out)
	}
	return h
}

// SyntheticHistory returns the spec's load over [-span, 0) at step resolution: the rate the
// shape gives before the workload starts (the diurnal cycle continued backwards, a step, spike or
// ramp's starting level), without bursts, with the Poisson noise of counting one step's
// arrivals. Token means are the workload's.
func SyntheticHistory(spec Spec, span, step time.Duration, wl sim.Workload) planner.LoadHistory {
	s := spec.withDefaults()
	f := rateFn{s: s}
	in, out := meanTokens(wl)
	r := rand.New(rand.NewPCG(s.Seed, 0x6869_7374))
	var h planner.LoadHistory
	if step <= 0 {
		return h
	}
	dt := step.Seconds()
	for t := -span; t < 0; t += step {
		x := t.Seconds()
		if s.Shape != Diurnal {
			x = 0
		}
		mean := f.at(x) * dt
		n := max(math.Round(mean+math.Sqrt(mean)*r.NormFloat64()), 0) // normal approximation
		h.RequestRate = append(h.RequestRate, n/dt)
		h.InputTokens = append(h.InputTokens, in)
		h.OutputTokens = append(h.OutputTokens, out)
	}
	return h
}

func meanTokens(wl sim.Workload) (in, out float64) {
	if len(wl.Requests) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, q := range wl.Requests {
		in += float64(q.InputTokens)
		out += float64(q.OutputTokens)
	}
	n := float64(len(wl.Requests))
	return in / n, out / n
}
