package forecast

import "math"

// sketchBins is the number of bins of an errSketch.
const sketchBins = 128

// sketchScale and sketchSpan place the bins: a log-ratio error e falls at u = sign(e) *
// log2(1 + |e|/sketchScale), the base-2 logarithm taken piecewise linearly between powers of two
// (the float's exponent plus its mantissa: no transcendental function per error, and exactly
// invertible), and the bins split u in [-sketchSpan, sketchSpan] evenly. Bins are therefore about
// 1.1e-4 wide in e near zero and 11-22% of |e| wide beyond a few per cent; errors past
// +-sketchScale*(2^sketchSpan - 1) (about +-8.2, a factor e^8.2) fall in the end bins.
const (
	sketchScale = 0.0005
	sketchSpan  = 14.0
)

// sketchU maps an error to the sketch's axis (see sketchScale).
func sketchU(e float64) float64 {
	x := 1 + math.Abs(e)/sketchScale
	if x >= 1<<sketchSpan {
		return math.Copysign(sketchSpan, e)
	}
	b := math.Float64bits(x)
	m := math.Float64frombits(b&(1<<52-1) | 1023<<52) // the mantissa, in [1, 2)
	return math.Copysign(float64(int(b>>52)-1023)+m-1, e)
}

// sketchE is sketchU's inverse.
func sketchE(u float64) float64 {
	a := math.Abs(u)
	n := math.Floor(a)
	return math.Copysign((math.Ldexp(1+a-n, int(n))-1)*sketchScale, u)
}

// errSketch is an exponentially decayed histogram of log-ratio errors: the weight of the value
// added i values ago is (1-1/memory)^i, so it summarises about the last memory values in a fixed
// 128 float32 bins, whatever memory is. Its quantiles interpolate linearly within a bin (in u),
// which puts them within a fraction of a bin of the exact weighted quantile. It replaces the
// sorted error windows (16 bytes per error) in a coarse forecaster, whose errors arrive at the
// fine step: at 15 s a week of them would be 40,320 values per horizon.
//
// It is 536 bytes: a coarse forecaster keeps one per fine horizon (9 at a 15 s interval and a
// 2-minute startup), and 500 policies keep 1,500 forecasters. The growth factor is derived from
// memory where it is used rather than kept, and the counts are 32-bit, so that 9 of them fit
// Go's 4,864-byte size class instead of taking a 5,376-byte block.
type errSketch struct {
	w      [sketchBins]float32
	total  float64 // sum of w
	inc    float64 // weight of the next value; grows by growth() per value
	n      int32   // values added (capped at memory)
	memory int32
}

func newErrSketch(memory int) errSketch {
	return errSketch{inc: 1, memory: int32(min(max(memory, 2), math.MaxInt32))}
}

// growth is the factor by which the weight of the next value grows: 1/(1-1/memory).
func (s *errSketch) growth() float64 { return 1 / (1 - 1/float64(s.memory)) }

// sketchBin maps e to its bin index and its position inside the bin (0..1).
func sketchBin(e float64) (int, float64) {
	u := (sketchU(e) + sketchSpan) / (2 * sketchSpan) * sketchBins
	u = math.Min(math.Max(u, 0), sketchBins-1e-9)
	i := int(u)
	return i, u - float64(i)
}

// add folds e in (NaN is ignored; infinities land in the end bins).
func (s *errSketch) add(e float64) {
	if e != e {
		return
	}
	i, _ := sketchBin(e)
	s.w[i] += float32(s.inc)
	s.total += s.inc
	s.inc *= s.growth()
	s.n = min(s.n+1, s.memory)
	if s.inc > 1e30 { // rescale before float32 overflows; relative weights are unchanged
		f := 1 / s.inc
		s.total = 0
		for j := range s.w {
			s.w[j] = float32(float64(s.w[j]) * f)
			s.total += float64(s.w[j])
		}
		s.inc = 1
	}
}

// quantile returns the weighted q-quantile (0 when empty). It walks the bins from the nearer
// end (the upper tail from the top), so tail quantiles cost a few bins.
func (s *errSketch) quantile(q float64) float64 {
	if s.total <= 0 {
		return 0
	}
	q = math.Min(math.Max(q, 0), 1)
	if q > 0.5 {
		target := (1 - q) * s.total
		cum, low := 0.0, sketchBins-1
		for i := sketchBins - 1; i >= 0; i-- {
			wf := float64(s.w[i])
			if wf == 0 {
				continue
			}
			if cum+wf >= target {
				return sketchAt(i, 1-math.Min(math.Max((target-cum)/wf, 0), 1))
			}
			cum, low = cum+wf, i
		}
		return sketchAt(low, 0) // rounding left target above the float32 bins' sum
	}
	target := q * s.total
	cum, top := 0.0, 0
	for i, w := range s.w {
		wf := float64(w)
		if wf == 0 {
			continue
		}
		if cum+wf >= target {
			return sketchAt(i, math.Min(math.Max((target-cum)/wf, 0), 1))
		}
		cum, top = cum+wf, i
	}
	return sketchAt(top, 1) // rounding left target above the float32 bins' sum
}

// sketchAt is the error at fraction f of bin i.
func sketchAt(i int, f float64) float64 {
	return sketchE((float64(i)+f)/sketchBins*(2*sketchSpan) - sketchSpan)
}
