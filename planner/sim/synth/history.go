package synth

import (
	"math"
	"math/rand/v2"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/workload"
)

// History is the past load a live planner would read from Prometheus at start-up (see
// planner.State.Warm), for the span before a replayed workload. Both generators below draw that
// past from the same generator as the workload (its arrival process, bursts and token source,
// with a seed of its own) and observe it the way the live backfill does: arrivals counted per
// planning interval (so the rate carries the counting noise and the bursts of that interval) and
// the mean token lengths of each interval's own requests. Every planner that uses history gets
// the same one.

// counter accumulates drawn arrivals into per-step counts and token sums.
type counter struct {
	from, step float64 // seconds: the first step's start, the step length
	n, in, out []float64
	missing    []bool
	r          *rand.Rand
	tokens     TokenSource
}

func newCounter(from, span, step float64, seed uint64, tokens TokenSource) *counter {
	k := max(int(math.Round(span/step)), 0)
	return &counter{from: from, step: step, n: make([]float64, k), in: make([]float64, k),
		out: make([]float64, k), missing: make([]bool, k), r: rand.New(rand.NewPCG(seed, 0x6869_7374)), tokens: tokens}
}

// add counts one arrival at t seconds with freshly drawn token lengths.
func (c *counter) add(t float64) {
	i := int((t - c.from) / c.step)
	if i < 0 || i >= len(c.n) {
		return
	}
	in, out := c.tokens.Draw(c.r)
	c.n[i]++
	c.in[i] += float64(in)
	c.out[i] += float64(out)
}

// history returns the observed series: requests/s and mean tokens per step; a missing step, or
// one without requests for the token means, is NaN.
func (c *counter) history() planner.LoadHistory {
	var h planner.LoadHistory
	for i, n := range c.n {
		rate, in, out := n/c.step, math.NaN(), math.NaN()
		if n > 0 {
			in, out = c.in[i]/n, c.out[i]/n
		}
		if c.missing[i] {
			rate, in, out = math.NaN(), math.NaN(), math.NaN()
		}
		h.RequestRate = append(h.RequestRate, rate)
		h.InputTokens = append(h.InputTokens, in)
		h.OutputTokens = append(h.OutputTokens, out)
	}
	return h
}

// ServeGenHistory returns the load over [o.Start - span, o.Start) at step resolution, drawn by
// ServeGen's generator with the workload's options o (rate scale, token source; the seed is
// varied so the past is not the workload again). A step before the data starts, or in which no
// client reports a positive rate (a collection gap in the published data), is missing (NaN).
func ServeGenHistory(sg *workload.ServeGen, o ServeGenOptions, span, step time.Duration) planner.LoadHistory {
	if sg == nil || step <= 0 || span <= 0 || sg.Window <= 0 || o.Tokens == nil {
		return planner.LoadHistory{}
	}
	if o.RateScale == 0 {
		o.RateScale = 1
	}
	from := o.Start - span
	c := newCounter(from.Seconds(), span.Seconds(), step.Seconds(), o.Seed^0x7061_7374, o.Tokens)
	agg := sg.Aggregate()
	for i := range c.missing {
		t := from + time.Duration(i)*step
		j := int((t - agg.Start) / agg.Step)
		c.missing[i] = t < agg.Start || j >= len(agg.Values) || !(agg.Values[j] > 0)
	}
	for _, cl := range sg.Clients {
		for _, w := range cl.Windows {
			if w.Start+sg.Window <= from || w.Start >= o.Start || !(w.Rate > 0) {
				continue
			}
			gap, mean := gapSampler(c.r, w)
			k := 1 / (w.Rate * o.RateScale * mean)
			lo, hi := w.Start.Seconds(), (w.Start + sg.Window).Seconds()
			for t := lo + gap()*k; t < hi; t += gap() * k {
				c.add(t)
			}
		}
	}
	return c.history()
}

// SyntheticHistory returns the spec's load over [-span, 0) at step resolution, drawn by the
// workload's own generator: the rate the shape gives before the workload starts (the diurnal
// cycle continued backwards, with bursts at the workload's density; a step, spike or ramp's
// starting level), arrivals by thinning a Poisson process, token lengths from the spec's source.
func SyntheticHistory(spec Spec, span, step time.Duration) planner.LoadHistory {
	s := spec.withDefaults()
	if step <= 0 || span <= 0 || s.Tokens == nil {
		return planner.LoadHistory{}
	}
	c := newCounter(-span.Seconds(), span.Seconds(), step.Seconds(), s.Seed^0x7061_7374, s.Tokens)
	f := rateFn{s: s}
	at := func(float64) float64 { return f.at(0) }
	if s.Shape == Diurnal {
		n := int(math.Round(float64(s.Bursts) * span.Seconds() / s.Duration.Seconds()))
		for range n {
			f.bursts = append(f.bursts, -span.Seconds()+c.r.Float64()*(span.Seconds()-s.BurstLength.Seconds()))
		}
		at = f.at
	}
	const seg = 60.0
	for a := -span.Seconds(); a < 0; a += seg {
		b := min(a+seg, 0)
		bound := f.boundOn(a, b)
		if s.Shape != Diurnal {
			bound = at(0) * 1.01
		}
		if bound <= 0 {
			continue
		}
		for t := a + c.r.ExpFloat64()/bound; t < b; t += c.r.ExpFloat64() / bound {
			if c.r.Float64()*bound <= at(t) {
				c.add(t)
			}
		}
	}
	return c.history()
}
