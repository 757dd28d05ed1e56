package sim

import (
	"math"
	"sort"

	"github.com/tidal-planner/tidal/planner"
)

// layouts are the finite upper bounds of the frontend's histograms.
type layouts struct {
	ttft, itl, isl, osl []float64
}

// dynamoLayouts returns the frontend histograms' default bucket layouts in Dynamo: log-spaced from
// MIN to MAX in COUNT bounds, rounded to two significant figures, with a 0 bound first
// (ai-dynamo/dynamo, lib/llm/src/http/service/metrics.rs: generate_log_buckets, and the defaults
// Metrics::new documents: DYN_METRICS_TTFT_{MIN,MAX,COUNT} = 0.001, 480, 18; ITL 0.001, 2, 13;
// INPUT_SEQUENCE 50, 128000, 12; OUTPUT_SEQUENCE 50, 32000, 10; read at commit 0014908a25ae).
func dynamoLayouts() layouts {
	return layouts{ttft: dynamoBuckets(0.001, 480, 18), itl: dynamoBuckets(0.001, 2, 13),
		isl: dynamoBuckets(50, 128000, 12), osl: dynamoBuckets(50, 32000, 10)}
}

// maxBounds is the most finite bounds a promHist holds (TTFT's 18).
const maxBounds = 18

// dynamoBuckets reproduces Dynamo's bucket generation: 0, then for i = 1 .. count-1 the value
// exp(ln lo + (ln hi - ln lo) x i / (count-1)) rounded to two significant figures, consecutive
// duplicates removed (so lo itself is not a bound; hi is).
func dynamoBuckets(lo, hi float64, count int) []float64 {
	out := []float64{0}
	for i := 1; i < count; i++ {
		v := math.Exp(math.Log(lo) + (math.Log(hi)-math.Log(lo))*float64(i)/float64(count-1))
		mag := math.Floor(math.Log10(v))
		scale := math.Pow(10, 1-mag)
		v = math.Round(v*scale) / scale
		if v != out[len(out)-1] {
			out = append(out, v)
		}
	}
	return out
}

// promHist is what one Prometheus histogram gained over some interval: a count per bucket (not
// cumulative; the last is the +Inf bucket), the sum and the count of the observations.
type promHist struct {
	counts     [maxBounds + 1]float64
	sum, count float64
}

// observe adds weight observations of value x (bounds are the histogram's finite upper bounds).
func (h *promHist) observe(bounds []float64, x, weight float64) {
	i := sort.SearchFloat64s(bounds, x) // first bound >= x: Prometheus' le is inclusive
	h.counts[i] += weight
	h.sum += x * weight
	h.count += weight
}

func (h *promHist) merge(o *promHist) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.sum += o.sum
	h.count += o.count
}

// quantile is PromQL's histogram_quantile(q) over the buckets: the bucket where the rank q x
// count falls, linear within it (from 0 for the lowest bucket), the highest finite bound when it
// falls in the +Inf bucket; false when there are no observations (PromQL's NaN).
func (h *promHist) quantile(bounds []float64, q float64) (float64, bool) {
	if !(h.count > 0) {
		return 0, false
	}
	rank := q * h.count
	cum := 0.0
	for b := range len(bounds) + 1 {
		prev := cum
		cum += h.counts[b]
		if cum < rank || h.counts[b] == 0 {
			continue
		}
		switch {
		case b == len(bounds):
			return bounds[len(bounds)-1], true
		case b == 0 && bounds[0] <= 0:
			return bounds[0], true
		}
		start := 0.0
		if b > 0 {
			start = bounds[b-1]
		}
		return start + (bounds[b]-start)*(rank-prev)/h.counts[b], true
	}
	return bounds[len(bounds)-1], true
}

// fraction is the adapter's attainment signal over the buckets (metrics/attainment.go): the
// share of observations at or below x, interpolated between the two bounds around x by
// planner.WithinTarget (from 0 below the lowest bound), the +Inf bucket counted as above x when x
// is at or above the highest finite bound; false when there are no observations.
func (h *promHist) fraction(bounds []float64, x float64) (float64, bool) {
	if !(h.count > 0) {
		return 0, false
	}
	cum, prev, prev2 := 0.0, 0.0, 0.0
	for b, le := range bounds {
		prev2, prev = prev, cum
		cum += h.counts[b]
		if x > le {
			continue
		}
		if x == le {
			return min(cum/h.count, 1), true
		}
		lo, b0 := 0.0, 0.0
		switch {
		case b > 1:
			lo, b0 = bounds[b-1], bounds[b-2]
		case b == 1:
			lo = bounds[0]
		case le <= 0:
			return 0, true
		}
		return min(planner.WithinTarget(b0, lo, le, prev2, prev, cum, h.count, x)/h.count, 1), true
	}
	return min(cum/h.count, 1), true // above every finite bound: the +Inf bucket misses
}
