package compete

import (
	"math"

	"github.com/tidal-planner/tidal/planner/profile"
	"gonum.org/v1/gonum/mat"
)

// FPM sample store and regression defaults of Dynamo's current planner (planner_config.py:
// max_num_fpm_samples 64, fpm_sample_bucket_size 16, load_min_observations 5;
// core/perf_model/base.py), and its load-tick period (load_adjustment_interval 5 s), at which it
// feeds the regressions with forward-pass metrics.
const (
	fpmMaxSamples = 64
	fpmBuckets    = 16
	fpmMinObs     = 5
	fpmTick       = 5.0 // seconds
)

// fpmSample is one forward pass: its features and wall time.
type fpmSample struct {
	x    [2]float64
	wall float64
	seq  int
}

// fpmRegression is a linear regression of per-iteration wall time on one or two features
// (prefill: sum of prefill tokens; decode: decode requests and decode KV tokens), over a store of at
// most 64 samples kept in 16 buckets over the features' range (4x4 in two dimensions); when full,
// the oldest sample of the fullest bucket is dropped. A fit with a negative coefficient is not
// ready, except the decode requests' coefficient, which is clamped to 0 (core/perf_model).
type fpmRegression struct {
	dims    int
	samples []fpmSample
	seq     int
	coef    []float64 // intercept, then one per feature; nil until fitted
	dirty   bool
	lo, hi  [2]float64
}

func newFPMRegression(dims int) *fpmRegression {
	r := &fpmRegression{dims: dims}
	for i := range r.lo {
		r.lo[i], r.hi[i] = math.Inf(1), math.Inf(-1)
	}
	return r
}

// add records a pass (wall time 0, an idle heartbeat, is skipped).
func (r *fpmRegression) add(x [2]float64, wall float64) {
	if wall <= 0 {
		return
	}
	for i := range r.dims {
		r.lo[i], r.hi[i] = min(r.lo[i], x[i]), max(r.hi[i], x[i])
	}
	r.seq++
	r.samples = append(r.samples, fpmSample{x: x, wall: wall, seq: r.seq})
	if len(r.samples) > fpmMaxSamples {
		r.dropOne()
	}
	r.dirty = true
}

// bucket is a sample's bucket over the features' range.
func (r *fpmRegression) bucket(s fpmSample) int {
	per := fpmBuckets
	if r.dims == 2 {
		per = 4
	}
	b := 0
	for i := range r.dims {
		span := r.hi[i] - r.lo[i]
		k := 0
		if span > 0 {
			k = min(int((s.x[i]-r.lo[i])/span*float64(per)), per-1)
		}
		b = b*per + k
	}
	return b
}

// dropOne removes the oldest sample of the fullest bucket.
func (r *fpmRegression) dropOne() {
	count := map[int]int{}
	for _, s := range r.samples {
		count[r.bucket(s)]++
	}
	full, n := 0, -1
	for b, c := range count {
		if c > n || (c == n && b < full) {
			full, n = b, c
		}
	}
	oldest := -1
	for i, s := range r.samples {
		if r.bucket(s) == full && (oldest < 0 || s.seq < r.samples[oldest].seq) {
			oldest = i
		}
	}
	r.samples = append(r.samples[:oldest], r.samples[oldest+1:]...)
}

// predict returns the wall time at x; false when the model is not ready.
func (r *fpmRegression) predict(x [2]float64) (float64, bool) {
	if r.dirty {
		r.fit()
	}
	if r.coef == nil {
		return 0, false
	}
	v := r.coef[0]
	for i := range r.dims {
		v += r.coef[i+1] * x[i]
	}
	return v, true
}

func (r *fpmRegression) fit() {
	r.dirty, r.coef = false, nil
	n := len(r.samples)
	if n < fpmMinObs {
		return
	}
	x := mat.NewDense(n, r.dims+1, nil)
	y := mat.NewVecDense(n, nil)
	for i, s := range r.samples {
		x.Set(i, 0, 1)
		for j := range r.dims {
			x.Set(i, j+1, s.x[j])
		}
		y.SetVec(i, s.wall)
	}
	var qr mat.QR
	qr.Factorize(x)
	var b mat.VecDense
	if err := qr.SolveVecTo(&b, false, y); err != nil {
		return
	}
	coef := make([]float64, r.dims+1)
	for i := range coef {
		coef[i] = b.AtVec(i)
	}
	for i := 1; i < len(coef); i++ {
		if coef[i] < 0 {
			if r.dims == 2 && i == 1 {
				coef[i] = 0 // decode requests: clamped
				continue
			}
			return // any other negative coefficient: not ready
		}
	}
	r.coef = coef
}

// bootstrapFPM seeds the regressions from the profile, as Dynamo seeds them from pre-deployment
// profiling: prefill (input tokens, TTFT) points; decode points as (batch = KV usage x capacity /
// context, KV tokens, ITL).
func bootstrapFPM(p profile.Profile, pre, dec *fpmRegression) {
	lo, hi := p.Prefill.ISLRange()
	for i := range fpmBuckets {
		isl := lo + (hi-lo)*float64(i)/(fpmBuckets-1)
		pre.add([2]float64{isl}, p.Prefill.TTFT(isl))
	}
	maxKV := p.Decode.MaxKVTokens()
	for _, pt := range p.Decode.Points() {
		kv := pt.KVUsage * maxKV
		dec.add([2]float64{kv / max(pt.ContextLength, 1), kv}, pt.ITL)
	}
}

// elapsedTick reports whether a pass at t is due for sampling after last (load-tick cadence).
func elapsedTick(last *float64, t float64) bool {
	if t-*last < fpmTick && !math.IsInf(*last, -1) {
		return false
	}
	*last = t
	return true
}
