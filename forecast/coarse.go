package forecast

import (
	"fmt"
	"math"
	"slices"
)

// SeasonPoints is how many points of the coarse series one season is at most in a forecaster
// built with AggregateFor: 24 (hourly means at a daily season). The models refit on 14 days of
// 336 means instead of 80,640 points at 15 s, and every per-point cost of the method is paid once
// per mean. 48 (half-hour means) forecast no better in TestCoarseAccuracy and keep twice the
// history: a warm auto forecaster at 15 s retained ~31 kB with 24, ~41 kB with 48.
const SeasonPoints = 24

// AggregateFor returns the Options.Aggregate that makes one season of period points at most
// SeasonPoints coarse points, dividing period exactly when a divisor fits (so that a season stays
// a whole number of means); without a season (period < 2) it makes history points at most
// 14*SeasonPoints means. It is 1 (no aggregation) for series already that coarse.
func AggregateFor(period, history int) int {
	if period < 2 {
		return max(1, (history+14*SeasonPoints-1)/(14*SeasonPoints))
	}
	k := (period + SeasonPoints - 1) / SeasonPoints
	for d := k; d <= period/2; d++ {
		if period%d == 0 {
			return d
		}
	}
	return k
}

// sketchRecency divides ErrorWindow into the memory of a coarse forecaster's error sketches (at
// least 64 points): 252 points at 15 s or 60 s (ErrorWindow capped at 4,032), 63 at 10 minutes
// turned to 64. A recent memory lets the bands follow volatility as it changes through the day,
// which the per-point forecaster does with its volatility-scaled band variant. Chosen among
// memories of ErrorWindow, /4, /16 and fixed 32, 128 and 256 points on TestCoarseAccuracy's two
// series (q0.9 coverage on m-small 0.86-0.87 with the full ErrorWindow, 0.88-0.90 with /16); not
// validated on other traces.
const sketchRecency = 16

// coarse forecasts a series through a k-times coarser one. Every k points (a bucket) it feeds
// their mean (missing points left out; NaN when all are missing) to the method, which fits and
// forecasts bucket means. The forecast at the series' own step is the coarse curve (the newest
// bucket mean and the forecast means, joined linearly between bucket centres) plus the newest
// point's deviation from that curve, decayed per step by the deviation's lag-one
// autocorrelation (estimated online, between 0 and 1): a level the means have not caught up with
// yet is held, noise around the curve is not. Intervals come from the forecaster's own errors at
// each fine horizon, kept as decayed histograms (errSketch) with a memory of ErrorWindow /
// sketchRecency points.
// Zeros are errors-free while gap detection is on: a zero run may turn out to be a gap.
type coarse struct {
	method string
	k      int
	o      Options // at the fine step, defaults applied
	inner  *predictor

	sum            float64 // usable values of the bucket being filled
	cnt, pos       int     // usable points and all points in it
	zeroTail       int     // trailing zeros counted in cnt (taken back if they turn into a gap)
	zeroRun        int
	last           float64 // newest usable value
	have           bool
	dev            float64   // last's deviation from the coarse curve
	devRing        []float64 // devRing[s % H]: the deviation at fine step s (NaN: none)
	curveRing      []float64 // row s % H (see row): the curve after fine step s, 1..H ahead
	sxy, sxx, beta []float64 // per horizon: decayed sums of the regression, its slope
	regN           []int
	wdec           float64 // decay per point of those sums

	errs    []errSketch // per fine horizon
	fcRing  []float64   // row s % H: point forecasts made after fine step s
	cur     []float64   // point forecasts after the newest point
	cc      []float64   // scratch: coarse forecasts beyond the method's MaxHorizon
	scratch []float64
	recent  []float64 // the newest usable values, for the naive band before errors exist
	nRecent int
	ratios  []float64

	step, observed, missing int
	levelSum                float64
	levelN                  int
}

// newCoarse builds a coarse forecaster for o (defaults applied, Aggregate > 1).
func newCoarse(method string, o Options) *coarse {
	k, H := o.Aggregate, o.MaxHorizon
	up := func(v int) int { return (v + k - 1) / k }
	in := Options{
		Period: o.Period / k, MaxHorizon: up(k-1+H) + 1, History: up(o.History),
		RefitEvery: up(o.RefitEvery), Window: o.Window, ARLags: o.ARLags,
		ErrorWindow: up(o.ErrorWindow), SelectWindow: up(o.SelectWindow), Aggregate: 1, compact: true,
	}
	if o.GapSteps > 0 {
		in.GapSteps = up(o.GapSteps)
	} else {
		in.GapSteps = -1
	}
	in = in.withDefaults()
	c := &coarse{
		method: method, k: k, o: o, inner: newPredictor(method, &in, true),
		wdec: 1 - 1/float64(o.ErrorWindow),
		errs: make([]errSketch, H), fcRing: make([]float64, H*H), cur: make([]float64, H),
		recent:  make([]float64, max(4*H, 32)),
		devRing: make([]float64, H), curveRing: make([]float64, H*H),
		sxy: make([]float64, H), sxx: make([]float64, H), beta: make([]float64, H), regN: make([]int, H),
	}
	for i := range c.errs {
		c.errs[i] = newErrSketch(max(o.ErrorWindow/sketchRecency, 64))
		c.devRing[i] = math.NaN()
		c.beta[i] = 1
	}
	return c
}

// Name returns the method name.
func (c *coarse) Name() string { return c.method }

// Observe adds the next point: to the bucket being filled (feeding the mean to the method when
// the bucket is complete), to the errors of the forecasts made 1..MaxHorizon points ago and to
// the level the next forecasts start from.
func (c *coarse) Observe(v float64) {
	c.observed++
	c.step++
	usable := usable(v)
	switch {
	case !usable:
	case v == 0 && c.o.GapSteps > 0:
		c.zeroRun++
		if c.zeroRun >= c.o.GapSteps { // a gap: its zeros so far in this bucket are missing too
			c.cnt -= c.zeroTail
			c.zeroTail = 0
			usable = false
		} else {
			c.zeroTail++
		}
	default:
		c.zeroRun, c.zeroTail = 0, 0
	}
	if usable {
		c.sum += v
		c.cnt++
		if !(v == 0 && c.o.GapSteps > 0) {
			c.recordErrors(v)
		}
		c.learnDev(v)
		c.levelSum += v
		c.levelN++
		c.last, c.have = v, true
		c.recent[c.nRecent%len(c.recent)] = v
		c.nRecent++
	} else {
		c.missing++
	}
	if c.pos++; c.pos == c.k {
		c.flush()
	}
	c.update(usable)
}

// flush feeds the finished bucket's mean to the method.
func (c *coarse) flush() {
	mean := math.NaN()
	if c.cnt > 0 {
		mean = c.sum / float64(c.cnt)
	}
	c.inner.Observe(mean)
	c.sum, c.cnt, c.pos, c.zeroTail = 0, 0, 0, 0
}

// recordErrors scores the forecasts made 1..MaxHorizon points ago against actual a.
func (c *coarse) recordErrors(a float64) {
	H := len(c.errs)
	eps := c.eps()
	for h := 1; h <= H && h < c.step; h++ {
		e := logRatio(a, row(c.fcRing, H, (c.step-h)%H)[h-1], eps)
		c.errs[h-1].add(e)
	}
}

// eps is the floor in log-ratio errors: the mean level so far.
func (c *coarse) eps() float64 {
	if c.levelN == 0 {
		return 0
	}
	return c.levelSum / float64(c.levelN)
}

// update refreshes the forecasts after the newest point and files them, with the curve and the
// deviation they came from, for scoring and for the deviation's regression.
func (c *coarse) update(usable bool) {
	slot := c.step % len(c.errs)
	c.devRing[slot] = math.NaN()
	if usable {
		c.dev = c.last - c.curve(c.inner.cur, 0)
		c.devRing[slot] = c.dev
	}
	curve := row(c.curveRing, len(c.errs), slot)
	for j := range curve {
		curve[j] = c.curve(c.inner.cur, j+1)
	}
	c.points(c.cur, c.inner.cur)
	copy(row(c.fcRing, len(c.errs), slot), c.cur)
}

// learnDev regresses, per horizon j, what actual a added to the curve forecast made j points ago
// on the deviation at that time (decayed least squares through the origin, slope clamped to
// [0, 1]): how much of a deviation is still there j points later.
func (c *coarse) learnDev(a float64) {
	H := len(c.errs)
	for j := 1; j <= H && j < c.step; j++ {
		slot := (c.step - j) % H
		x := c.devRing[slot]
		if math.IsNaN(x) {
			continue
		}
		y := a - row(c.curveRing, H, slot)[j-1]
		sxy, sxx := c.wdec*c.sxy[j-1]+x*y, c.wdec*c.sxx[j-1]+x*x
		if math.IsNaN(sxy) || math.IsInf(sxy, 0) || math.IsInf(sxx, 0) { // values near overflow: start over
			c.sxy[j-1], c.sxx[j-1], c.regN[j-1] = 0, 0, 0
			continue
		}
		c.sxy[j-1], c.sxx[j-1] = sxy, sxx
		if c.regN[j-1]++; c.regN[j-1] > minErrors && sxx > 0 {
			c.beta[j-1] = min(max(sxy/sxx, 0), 1)
		}
	}
}

// curve is the coarse curve x fine steps after the newest point: the newest bucket mean at its
// centre and the forecast means cc at theirs, joined linearly (held flat past the last one).
// Before the first bucket it is the newest value.
func (c *coarse) curve(cc []float64, x int) float64 {
	if c.inner.hist.n() == 0 || len(cc) == 0 {
		return c.last
	}
	k := float64(c.k)
	// Bucket j (0: the newest complete one, j >= 1: cc[j-1]) is centred at -pos + (j-1)k + (k+1)/2.
	u := (float64(x+c.pos) - (k+1)/2) / k // fractional bucket index of x, minus one
	j := int(math.Floor(u)) + 1
	at := func(j int) float64 {
		if j <= 0 {
			return c.inner.inv(c.inner.hist.last())
		}
		return cc[min(j, len(cc))-1]
	}
	f := u + 1 - float64(j)
	return (1-f)*at(j) + f*at(j+1)
}

// points fills out with the fine point forecasts 1..len(out) steps ahead.
func (c *coarse) points(out, cc []float64) {
	if !c.have {
		clear(out)
		return
	}
	for i := range out {
		v := c.curve(cc, i+1) + c.beta[min(i, len(c.beta)-1)]*c.dev
		if math.IsNaN(v) || math.IsInf(v, 1) { // values near overflow
			v = c.last
		}
		out[i] = math.Max(v, 0)
	}
}

// Forecast returns forecasts for 1..h points after the newest one with central intervals at
// coverage from the forecaster's own recent errors at each horizon (past MaxHorizon, the last
// one's widened by sqrt(h/MaxHorizon)).
func (c *coarse) Forecast(dst []Point, h int, coverage float64) []Point {
	if h <= 0 {
		return dst
	}
	pts := c.cur
	if h > len(c.cur) {
		n := (c.pos+h+c.k-1)/c.k + 1
		c.cc = slices.Grow(c.cc[:0], n)[:n]
		c.inner.points(c.cc)
		c.scratch = slices.Grow(c.scratch[:0], h)[:h]
		c.points(c.scratch, c.cc)
		pts = c.scratch
	}
	coverage = math.Min(math.Max(coverage, 0), 0.999)
	lo, hi := (1-coverage)/2, (1+coverage)/2
	eps := c.eps()
	for i := range h {
		qlo, qhi := c.band(i, lo, hi)
		v := pts[i]
		lower := math.Max((v+eps)*math.Exp(qlo)-eps, 0)
		upper := (v+eps)*math.Exp(qhi) - eps
		if math.IsNaN(upper) || math.IsInf(upper, 0) {
			upper = v
		}
		dst = append(dst, Point{Value: v, Lower: math.Min(lower, v), Upper: math.Max(upper, v)})
	}
	return dst
}

// band returns the log-ratio quantiles for horizon index i: from the errors once there are
// minErrors of them, else from the newest values' own (i+1)-step log ratios.
func (c *coarse) band(i int, lo, hi float64) (float64, float64) {
	H := len(c.errs)
	k := min(i, H-1)
	scale := math.Sqrt(float64(i+1) / float64(k+1))
	if s := &c.errs[k]; s.n >= minErrors {
		return s.quantile(lo) * scale, s.quantile(hi) * scale
	}
	n := min(c.nRecent, len(c.recent))
	r := c.ratios[:0]
	for t := k + 1; t < n; t++ { // t steps back from the newest, paired with t-k-1
		a := c.recent[(c.nRecent-1-(t-k-1))%len(c.recent)]
		b := c.recent[(c.nRecent-1-t)%len(c.recent)]
		if e := logRatio(a, b, c.eps()); !math.IsNaN(e) {
			r = append(r, e)
		}
	}
	c.ratios = r
	return ratioBand(r, lo, hi, scale)
}

// Clone returns an independent deep copy.
func (c *coarse) Clone() Forecaster {
	d := *c
	d.inner = c.inner.Clone().(*predictor)
	d.errs = slices.Clone(c.errs)
	d.fcRing, d.curveRing = slices.Clone(c.fcRing), slices.Clone(c.curveRing)
	d.cur, d.recent, d.devRing = slices.Clone(c.cur), slices.Clone(c.recent), slices.Clone(c.devRing)
	d.sxy, d.sxx, d.beta, d.regN = slices.Clone(c.sxy), slices.Clone(c.sxx), slices.Clone(c.beta), slices.Clone(c.regN)
	d.cc, d.scratch, d.ratios = nil, nil, nil
	return &d
}

// Status reports the method fitted on the means, and the fine level's decay.
func (c *coarse) Status() Status {
	active, reason := c.inner.activeReason()
	return Status{
		Method: c.method, Active: fmt.Sprintf("%s on %d-point means", active, c.k),
		Reason: fmt.Sprintf("%s; share of the deviation from the means' curve kept: %.2f at h=1, %.2f at h=%d",
			reason, c.beta[0], c.beta[len(c.beta)-1], len(c.beta)),
		Observed: c.observed, Missing: c.missing, Refits: c.inner.Status().Refits,
	}
}
