package burst

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"time"
)

// Defaults of the estimator's sub-window and averaging range (the metrics adapter's
// Options.ArrivalStep and ArrivalRange default to them; use a step of at least 4 scrape
// intervals, and a range of at least 10 steps).
const (
	DefaultStep  = time.Minute
	DefaultRange = 30 * time.Minute
)

// Chi1Median is the median of a chi-square variable with one degree of freedom, (z_0.75)^2: the
// median of D^2 for a normal difference D is Chi1Median x E[D^2]. Differences of counts of many
// requests are close to normal, so median(D^2) / Chi1Median estimates E[D^2] without the weight
// the mean gives one large difference (a step in the load).
const Chi1Median = 0.4549364231195728

// Query returns the estimator as PromQL over a counter selector (for example
// `dynamo_frontend_requests_total{model="m"}`), with the placeholders ${cvstep} (the step) and
// ${cvrange} (the range) left for the caller to substitute.
func Query(counter string) string {
	n := "sum(increase(" + counter + "[${cvstep}]))"
	prev := "sum(increase(" + counter + "[${cvstep}] offset ${cvstep}))"
	return "sqrt(quantile_over_time(0.5, ((" + n + " - " + prev + ") ^ 2)[${cvrange}:${cvstep}]) / (" +
		strconv.FormatFloat(2*Chi1Median, 'g', -1, 64) + " * avg_over_time(" + n + "[${cvrange}:${cvstep}])))"
}

// Sample is one scrape of a counter: its time in seconds (Unix, or any origin aligned with the
// step: the subquery evaluates at multiples of the step) and its value.
type Sample struct {
	T, V float64
}

// Increase is PromQL's increase(counter[window]) evaluated at t over samples sorted by time: the
// difference between the last and first samples in (t - window, t] (3.x; 2.x also takes a sample
// exactly at t - window) (counter resets added back),
// extrapolated towards the window's edges by at most half a sample interval beyond the data
// (further when the gap is under 1.1 intervals), and never below the counter's zero. False when
// fewer than two samples fall in the window. This follows Prometheus' extrapolatedRate
// (promql/functions.go), written from its documented behaviour.
func Increase(samples []Sample, t, window float64) (float64, bool) {
	lo := sort.Search(len(samples), func(i int) bool { return samples[i].T > t-window })
	hi := sort.Search(len(samples), func(i int) bool { return samples[i].T > t })
	in := samples[lo:hi]
	if len(in) < 2 {
		return 0, false
	}
	first, last := in[0], in[len(in)-1]
	delta := last.V - first.V
	for i := 1; i < len(in); i++ {
		if in[i].V < in[i-1].V { // a reset: the counter restarted from zero
			delta += in[i-1].V
		}
	}
	sampled := last.T - first.T
	avg := sampled / float64(len(in)-1)
	toStart, toEnd := first.T-(t-window), t-last.T
	if delta > 0 && first.V >= 0 {
		toStart = min(toStart, sampled*first.V/delta) // the counter was zero no earlier than that
	}
	threshold := 1.1 * avg
	if toStart >= threshold {
		toStart = avg / 2
	}
	if toEnd >= threshold {
		toEnd = avg / 2
	}
	return delta * (sampled + toStart + toEnd) / sampled, true
}

// CV evaluates Query's expression at t over a counter's samples (sorted by time), step and rng in
// seconds: the subquery points are the multiples of step in [t - rng, t] (Prometheus 2.x, which
// the integration tests run, includes a point on the range's start; 3.x does not, one point of
// rng/step fewer); at each, N is the increase over the step ending there and the previous N the
// increase over the step before it. The squared differences' median is PromQL's
// quantile_over_time(0.5, ...) (quantile). False when no point has both (the PromQL result would
// be empty) or when the mean count is 0 (PromQL's NaN).
func CV(samples []Sample, t, step, rng float64) (float64, bool) {
	var buf [64]float64
	sq := buf[:0]
	var n float64
	var nN int
	top := math.Floor(t/step) * step
	cur, ok := Increase(samples, top, step)
	for tau := top; tau >= t-rng-1e-9; tau -= step {
		// The step before this point is the next point's own: read once, carried down.
		prev, pok := Increase(samples, tau-step, step)
		if ok {
			n += cur
			nN++
			if pok {
				sq = append(sq, (cur-prev)*(cur-prev))
			}
		}
		cur, ok = prev, pok
	}
	if len(sq) == 0 || n <= 0 { // a difference implies a count: nN > 0
		return 0, false
	}
	v := math.Sqrt(quantile(0.5, sq) / (2 * Chi1Median * (n / float64(nN))))
	return v, !math.IsNaN(v) && !math.IsInf(v, 0)
}

// quantile is PromQL's quantile_over_time(q, ...) of vs (sorted in place; q in [0, 1], vs not
// empty): linear interpolation between the order statistics around rank q x (len - 1).
func quantile(q float64, vs []float64) float64 {
	slices.Sort(vs)
	rank := q * float64(len(vs)-1)
	lo := int(rank) // rank >= 0
	hi := min(lo+1, len(vs)-1)
	w := rank - float64(lo)
	return vs[lo]*(1-w) + vs[hi]*w
}
