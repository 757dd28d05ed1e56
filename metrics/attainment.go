package metrics

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/prometheus/common/model"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/policies"
)

// The attainment signals (ttftAttained, itlAttained) are the fraction of a window's histogram
// observations at or below the SLO target. Their default query returns the rate of every bucket
// of the histogram, by le:
//
//	sum by (le) (rate(<histogram>_bucket{selector}[window]))
//
// and the adapter computes rate(bucket{le=target}) / rate(bucket{le="+Inf"}) (rate and increase
// give the same ratio). A target between two bounds lo < target < hi reads the bucket with an
// exponential tail whose rate the bucket below measures (planner.WithinTarget), because linear
// interpolation, as histogram_quantile does, reads up to 3x the true misses where latency
// densities fall steeply around an SLO target; below the lowest bound the lower edge is 0. A
// target at or above the highest finite bound counts the +Inf bucket as misses: nothing is
// known of those observations but that they exceeded it. PromQL has no such interpolation for
// classic buckets (histogram_fraction reads only native histograms in the Prometheus we run),
// so it is done here.
//
// A query override may return the buckets by le in the same way (they are interpolated at the
// target; ${target} expands to it in seconds), or the fraction itself as one series without an
// le label.

// labelLe is the bucket upper bound label of a Prometheus histogram.
const labelLe = "le"

// attainmentSignal reports whether a signal is a fraction computed from buckets.
func attainmentSignal(s policies.Signal) bool {
	return s == SignalTTFTAttained || s == SignalITLAttained
}

// bucketRate is one bucket's cumulative rate: observations at or below le.
type bucketRate struct {
	le, rate float64
}

// addBucket records one bucket sample; a le that does not parse marks the group unusable.
func (g *group) addBucket(le string, v float64) {
	b, err := strconv.ParseFloat(le, 64)
	if err != nil || math.IsNaN(b) {
		g.badLe = le
		return
	}
	g.buckets = append(g.buckets, bucketRate{le: b, rate: v})
}

// attained is the value of an attainment signal with the given target (seconds): the fraction
// interpolated from the buckets, or the value of an override that returns the fraction itself.
func (r result) attained(target float64, stale time.Duration) planner.Value {
	if r.reason != "" {
		return planner.Unknown(r.reason)
	}
	g := r.groups[""]
	switch {
	case len(r.groups) == 0 || g == nil:
		return planner.Unknown(ReasonEmpty + ": no series (absent, or marked stale by Prometheus)")
	case g.badLe != "":
		return planner.Unknown(fmt.Sprintf("%s: le=%q is not a bucket bound", ReasonUnexpected, g.badLe))
	case len(g.buckets) > 0 && g.hasValue:
		return planner.Unknown(ReasonAmbiguous + ": both buckets (by le) and a series without le; return one or the other")
	case len(g.buckets) > 0:
		return fractionAtOrBelow(g.buckets, target)
	}
	v := g.check(stale)
	if v.OK && (v.V < 0 || v.V > 1) {
		return planner.Unknown(fmt.Sprintf("%s: %g is not a fraction in [0, 1]", ReasonUnexpected, v.V))
	}
	return v
}

// fractionAtOrBelow interpolates the fraction of observations at or below target from
// cumulative bucket rates (see the top of this file). It sorts buckets in place.
func fractionAtOrBelow(buckets []bucketRate, target float64) planner.Value {
	slices.SortFunc(buckets, func(a, b bucketRate) int { return cmp.Compare(a.le, b.le) })
	n := len(buckets)
	for i := 1; i < n; i++ {
		if buckets[i].le == buckets[i-1].le {
			return planner.Unknown(fmt.Sprintf("%s: two series for le=%g; aggregate them with sum by (le)", ReasonAmbiguous, buckets[i].le))
		}
	}
	if n < 2 {
		return planner.Unknown(ReasonUnexpected + ": fewer than two buckets, so nothing is known below the top one")
	}
	if !math.IsInf(buckets[n-1].le, 1) {
		return planner.Unknown(ReasonUnexpected + `: no le="+Inf" bucket, so the number of observations is unknown`)
	}
	total := buckets[n-1].rate
	switch {
	case math.IsNaN(total):
		return planner.Unknown(ReasonNaN + ": the +Inf bucket's rate is NaN")
	case !(total > 0):
		return planner.Unknown(ReasonNaN + ": no observations in the window (0/0)")
	}
	// Cumulative counts only grow with le; scrapes that straddle an update can break that, and
	// histogram_quantile then carries the highest count so far forward: so does this.
	for i := 1; i < n; i++ {
		if buckets[i].rate < buckets[i-1].rate || math.IsNaN(buckets[i].rate) {
			buckets[i].rate = buckets[i-1].rate
		}
	}
	i, _ := slices.BinarySearchFunc(buckets, target, func(b bucketRate, t float64) int { return cmp.Compare(b.le, t) })
	var within float64
	switch {
	case i == n-1: // above every finite bound: the +Inf bucket's observations count as misses
		within = buckets[n-2].rate
	case buckets[i].le == target:
		within = buckets[i].rate
	default:
		lo, cLo := 0.0, 0.0
		if i > 0 {
			lo, cLo = buckets[i-1].le, buckets[i-1].rate
		}
		b0, c0 := lo, cLo
		if i > 1 {
			b0, c0 = buckets[i-2].le, buckets[i-2].rate
		}
		hi, cHi := buckets[i].le, buckets[i].rate
		if lo >= hi { // a first bound at or below 0 and a target below it: nothing at or below
			return planner.Known(0)
		}
		within = planner.WithinTarget(b0, lo, hi, c0, cLo, cHi, total, target)
	}
	return planner.Known(min(max(within/total, 0), 1))
}

// sloTarget returns the SLO latency target, seconds, an attainment signal is judged against.
func (t target) sloTarget(s policies.Signal) float64 {
	if s == SignalITLAttained {
		return t.itlTarget
	}
	return t.ttftTarget
}

// fillAttained writes an attainment signal's range result into out: at each step the buckets
// (series by le) interpolated at target, or the values of one series without le (an override
// returning the fraction). Steps where the fraction is unknown, or a value is outside [0, 1],
// stay NaN.
func fillAttained(out Series, m model.Matrix, target float64) error {
	byTime := map[model.Time][]bucketRate{}
	var plain *model.SampleStream
	for _, ss := range m {
		le, ok := ss.Metric[labelLe]
		if !ok {
			if plain != nil {
				return fmt.Errorf("%s: several series without le; return buckets by le or one fraction", ReasonAmbiguous)
			}
			plain = ss
			continue
		}
		b, err := strconv.ParseFloat(string(le), 64)
		if err != nil || math.IsNaN(b) {
			return fmt.Errorf("%s: le=%q is not a bucket bound", ReasonUnexpected, le)
		}
		for _, p := range ss.Values {
			byTime[p.Timestamp] = append(byTime[p.Timestamp], bucketRate{le: b, rate: float64(p.Value)})
		}
	}
	if plain != nil && len(byTime) > 0 {
		return fmt.Errorf("%s: both buckets (by le) and a series without le; return one or the other", ReasonAmbiguous)
	}
	set := func(ts model.Time, v float64) {
		i := int64(math.Round(float64(ts.Time().Sub(out.Start)) / float64(out.Step)))
		if i >= 0 && i < int64(len(out.Values)) && v >= 0 && v <= 1 {
			out.Values[i] = v
		}
	}
	if plain != nil {
		for _, p := range plain.Values {
			set(p.Timestamp, float64(p.Value))
		}
	}
	for ts, bs := range byTime {
		if v := fractionAtOrBelow(bs, target); v.OK {
			set(ts, v.V)
		}
	}
	return nil
}
