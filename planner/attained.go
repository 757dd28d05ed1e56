package planner

import "math"

// WithinTarget is how the attainment signals (Observations.TTFTAttained, ITLAttained) read a
// histogram: the number of observations at or below x, given cumulative counts c0 <= c1 <= c2 at
// bounds b0 < b1 < x < b2 (b0, c0: the bucket below x's; give b0 = b1 when there is none) and the
// total count. The survival (observations above a latency) is taken as an exponential tail whose
// rate is the one measured over the bucket below:
//
//	above(x) = above(b1) x exp(-h (x - b1)),   h = log(above(b0) / above(b1)) / (b1 - b0)
//
// kept between above(b2) and above(b1). Latency densities fall steeply through the buckets around
// an SLO target (Dynamo's default TTFT buckets put 300 ms inside (0.22, 0.47]), where linear
// interpolation, as histogram_quantile does, reads up to 3x the true misses near 99% attainment;
// this tail reads them within 0.1-0.5 points, low (planner/sim TestAttainmentAgainstTruth), which
// errs on the side of the SLO. Without a bucket below, or with a tail the bucket below cannot
// measure, the interpolation is linear. The metrics adapter and the simulator share this function.
func WithinTarget(b0, b1, b2, c0, c1, c2, total, x float64) float64 {
	linear := c1
	if b2 > b1 {
		linear = c1 + (c2-c1)*(x-b1)/(b2-b1)
	}
	a0, a1, a2 := total-c0, total-c1, total-c2
	if !(b1 > b0) || !(a1 > 0) || !(a0 > a1) {
		return linear
	}
	h := math.Log(a0/a1) / (b1 - b0)
	above := min(max(a1*math.Exp(-h*(x-b1)), a2), a1)
	return total - above
}
