package forecast

import (
	"fmt"
	"math"
	"slices"
)

// model is one method's engine behind a predictor. The predictor owns the history, gap
// detection, imputation, residuals and intervals; the model only turns history into point
// forecasts.
type model interface {
	// observe is called after every point is appended to h (imputed when missing); raw is the
	// value the caller gave. Models update their state incrementally here.
	observe(h *history, raw float64)
	// refit re-estimates parameters and state from the whole of h.
	refit(h *history)
	// ready reports whether the model can forecast from h; waiting says why not (it is only
	// called for Status, so the hot path never formats it).
	ready(h *history) bool
	waiting(h *history) string
	// predict fills out[i] with the forecast i+1 steps after h's newest point.
	predict(h *history, out []float64)
	clone() model
	// describe names the fitted form and parameters, for Status.
	describe() string
}

// predictor implements Forecaster and Describer around a model.
type predictor struct {
	method string
	o      *Options // defaults applied; shared by auto's candidates and never modified
	m      model
	hist   history

	usingBase bool // true while the model is not ready and a fallback forecasts

	zeroRun int // current run of exact zeros (gap candidates)

	bands   bands     // own errors and interval quantiles
	fcRing  []float64 // row s % MaxHorizon (see row): forecasts made after step s
	cur     []float64 // forecasts made after the newest point (clamped at 0)
	scratch []float64 // forecasts beyond MaxHorizon
	ratios  []float64 // scratch of naiveBand

	shift        float64 // c in log(v+c) when models see the log scale; 0 until a positive value
	eps          float64 // floor in log-ratio errors
	levelSum     float64
	levelN       int
	observed     int
	missing      int
	refits       int
	sinceRefit   int
	driftRecent  float64 // EWMA of |one-step log error|
	driftAtRefit float64
}

// newPredictor returns a predictor of method with options o (defaults applied), which it keeps
// and never modifies: auto's candidates share their auto's, so that each of the 7 predictors of
// a warm auto forecaster is 416 bytes rather than 512. rank makes it a candidate inside auto: it
// keeps only the errors auto ranks by, and its own intervals are not available.
func newPredictor(method string, o *Options, rank bool) *predictor {
	p := &predictor{
		method: method, o: o, m: newModel(method, *o),
		hist:   history{limit: historyLimit(method, *o)},
		bands:  newBands(*o, method != MethodLastRatio, rank),
		fcRing: make([]float64, o.MaxHorizon*o.MaxHorizon),
		cur:    make([]float64, o.MaxHorizon),
	}
	return p
}

// historyLimit is the history a predictor of method keeps: Options.History, except inside a
// coarse forecaster (compact), where the methods that never refit on old points (last value,
// linear trend, seasonal naive, and auto's own copy, which only imputes and bridges gaps) keep
// one season plus a gap and their window: the bulk of a warm forecaster's memory is history.
func historyLimit(method string, o Options) int {
	switch {
	case !o.compact, method == MethodHoltWinters, method == MethodAR, method == MethodKalman:
		return o.History
	}
	return min(o.History, max(o.Period+max(o.GapSteps, 0)+2, o.Window+1, 16))
}

// row returns row i of the h x h matrix m (rows kept in one allocation rather than h: a
// slice header and a size-class round-up fewer per row).
func row(m []float64, h, i int) []float64 { return m[i*h : (i+1)*h : (i+1)*h] }

// Name returns the method name.
func (p *predictor) Name() string { return p.method }

// Observe appends the next point. NaN, infinite and negative values are missing; a run of exact
// zeros reaching Options.GapSteps is retroactively treated as missing (a collection gap).
func (p *predictor) Observe(v float64) {
	p.observed++
	missing := !usable(v)
	gapStart := false
	switch {
	case v == 0 && p.o.GapSteps > 0:
		p.zeroRun++
		if p.zeroRun >= p.o.GapSteps {
			gapStart = p.zeroRun == p.o.GapSteps
			missing = true
			p.bands.dropPending()
		}
	case !missing:
		p.zeroRun = 0
		p.bands.commitPending()
	}
	p.setShift(v, missing)
	stored := p.fwd(v)
	if missing {
		p.missing++
		stored = p.fwd(p.impute())
	} else {
		p.levelSum += v
		p.levelN++
		p.recordErrors(v)
		p.bands.observe(v, p.eps)
	}
	p.hist.push(stored, missing)
	if gapStart {
		p.markGap()
	}
	p.m.observe(&p.hist, v)
	p.maybeRefit(gapStart)
	p.update()
}

// logScale reports whether models see log(v+shift) rather than v.
// Only Holt-Winters fits log(v + c) (c a tenth of the first positive value): on that scale its
// additive recursions act multiplicatively, so the seasonal swing follows the level. The other
// methods fit the series itself (on the ServeGen series, the log scale made AR and Kalman worse).
func (p *predictor) logScale() bool { return p.method == MethodHoltWinters }

// setShift fixes the log offset at a tenth of the first positive value, rewriting the zeros
// stored before it.
func (p *predictor) setShift(v float64, missing bool) {
	if !p.logScale() || p.shift > 0 || missing || !(v > 0) {
		return
	}
	p.shift = 0.1 * v
	for i := range p.hist.vals {
		p.hist.vals[i] = math.Log(p.shift)
	}
}

// fwd maps a value to the scale models see.
func (p *predictor) fwd(v float64) float64 {
	if !p.logScale() {
		return v
	}
	if p.shift == 0 {
		return 0
	}
	return math.Log(math.Max(v, 0) + p.shift)
}

// inv maps a model value back to the series scale.
func (p *predictor) inv(z float64) float64 {
	if !p.logScale() {
		return z
	}
	if p.shift == 0 {
		return 0
	}
	return math.Exp(math.Min(z, 700)) - p.shift
}

// impute returns the value stored for a missing point: the latest one-step forecast.
func (p *predictor) impute() float64 {
	if p.hist.n() == 0 {
		return 0
	}
	return p.cur[0]
}

// markGap turns the zeros that opened a gap (all but the newest, already missing) into missing
// points imputed with the seasonal or last value before them.
func (p *predictor) markGap() {
	n := p.hist.n()
	first := max(n-p.o.GapSteps, 0)
	for i := first; i < n-1; i++ {
		if !p.hist.missing(i) {
			p.hist.setMissing(i, true)
			p.missing++
			p.levelN--
		}
		p.hist.vals[i] = p.fill(i)
	}
	p.hist.vals[n-1] = p.fill(n - 1)
}

// fill is the imputed value of index i: one season back when that exists, else the last
// non-gap value before i.
func (p *predictor) fill(i int) float64 {
	if P := p.o.Period; P > 0 && i >= P {
		return p.hist.vals[i-P]
	}
	if i > 0 {
		return p.hist.vals[i-1]
	}
	return 0
}

// recordErrors scores the forecasts made 1..MaxHorizon steps ago against actual a.
func (p *predictor) recordErrors(a float64) {
	step := p.hist.next()
	for h := 1; h <= p.o.MaxHorizon && h < p.observed; h++ {
		idx := (step - h) % p.o.MaxHorizon
		e := logRatio(a, row(p.fcRing, p.o.MaxHorizon, idx)[h-1], p.eps)
		if math.IsNaN(e) {
			continue
		}
		if h == 1 {
			p.driftRecent += (math.Min(math.Abs(e), 5) - p.driftRecent) / 24
		}
		p.bands.record(h-1, idx, e, a == 0 && p.o.GapSteps > 0)
	}
}

// maybeRefit refits when the model first becomes ready, on schedule, after a gap, or when the
// one-step error has drifted to twice its level at the last refit.
func (p *predictor) maybeRefit(force bool) {
	p.sinceRefit++
	if !p.m.ready(&p.hist) {
		p.usingBase = true
		return
	}
	drift := p.sinceRefit >= max(p.o.RefitEvery/4, 6) && p.driftRecent > 2*p.driftAtRefit && p.driftAtRefit > 0
	if p.usingBase || force || drift || p.sinceRefit >= p.o.RefitEvery {
		p.m.refit(&p.hist)
		p.refits++
		p.sinceRefit = 0
		p.driftAtRefit = p.driftRecent
		p.usingBase = false
	}
}

// fallbackName is the simple method used while the model is not ready.
func (p *predictor) fallbackName() string {
	if P := p.o.Period; P > 0 && p.hist.n() >= P {
		return MethodSeasonalNaive
	}
	return MethodLast
}

// update recomputes the forecasts after the newest point and files them for scoring.
func (p *predictor) update() {
	if p.levelN > 0 && p.method != MethodLastRatio {
		p.eps = p.levelSum / float64(p.levelN)
	}
	p.points(p.cur)
	idx := (p.hist.next() - 1) % p.o.MaxHorizon
	copy(row(p.fcRing, p.o.MaxHorizon, idx), p.cur)
	p.bands.snapshot(idx)
}

// points fills out with clamped point forecasts from the model or its fallback.
func (p *predictor) points(out []float64) {
	switch {
	case p.hist.n() == 0:
		clear(out)
		return
	case !p.usingBase:
		p.m.predict(&p.hist, out)
	case p.fallbackName() == MethodSeasonalNaive:
		(&seasonalNaive{period: p.o.Period}).predict(&p.hist, out)
	default:
		(&lastValue{}).predict(&p.hist, out)
	}
	for i, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 1) {
			v = p.hist.last()
		}
		out[i] = math.Max(p.inv(v), 0)
	}
}

// Forecast returns forecasts for 1..h steps after the newest point with central intervals at
// coverage: Lower and Upper are the (1-coverage)/2 and (1+coverage)/2 quantiles of the method's
// own recent h-step errors (multiplicative, so bands scale with the forecast level).
func (p *predictor) Forecast(dst []Point, h int, coverage float64) []Point {
	if h <= 0 {
		return dst
	}
	pts := p.cur
	if h > len(p.cur) {
		p.scratch = slices.Grow(p.scratch[:0], h)[:h]
		p.points(p.scratch)
		pts = p.scratch
	}
	coverage = math.Min(math.Max(coverage, 0), 0.999)
	lo, hi := (1-coverage)/2, (1+coverage)/2
	for i := range h {
		qlo, qhi := p.band(i, lo, hi)
		v := pts[i]
		lower := math.Max((v+p.eps)*math.Exp(qlo)-p.eps, 0)
		upper := (v+p.eps)*math.Exp(qhi) - p.eps
		if math.IsNaN(upper) || math.IsInf(upper, 0) {
			upper = v
		}
		dst = append(dst, Point{Value: v, Lower: math.Min(lower, v), Upper: math.Max(upper, v)})
	}
	return dst
}

// band returns the log-ratio quantiles for horizon index i (0-based).
func (p *predictor) band(i int, lo, hi float64) (float64, float64) {
	k := min(i, p.o.MaxHorizon-1)
	scale := math.Sqrt(float64(i+1) / float64(k+1))
	if qlo, qhi, ok := p.bands.quantiles(k, lo, hi); ok {
		return qlo * scale, qhi * scale
	}
	return p.naiveBand(k+1, lo, hi, scale)
}

// naiveBand derives a band from the history's own h-step log ratios while the method has too
// few errors of its own; with almost no history it is a wide default.
func (p *predictor) naiveBand(h int, lo, hi, scale float64) (float64, float64) {
	vals, miss := p.hist.window()
	r := p.ratios[:0]
	for t := h; t < len(vals); t++ {
		if !miss.at(t) && !miss.at(t-h) {
			if e := logRatio(p.inv(vals[t]), p.inv(vals[t-h]), p.eps); !math.IsNaN(e) {
				r = append(r, e)
			}
		}
	}
	p.ratios = r
	return ratioBand(r, lo, hi, scale)
}

// ratioBand is the band of the log-ratios r (sorted in place) at quantiles lo and hi, times scale;
// with fewer than five ratios, a fixed +/-0.7 x scale.
func ratioBand(r []float64, lo, hi, scale float64) (float64, float64) {
	if len(r) < 5 {
		return -0.7 * scale, 0.7 * scale
	}
	slices.Sort(r)
	return quantile(r, lo) * scale, quantile(r, hi) * scale
}

// Clone returns an independent deep copy.
func (p *predictor) Clone() Forecaster {
	c := *p
	c.m = p.m.clone()
	c.hist = p.hist.clone()
	c.bands = p.bands.clone()
	c.fcRing = slices.Clone(p.fcRing)
	c.cur = slices.Clone(p.cur)
	c.scratch, c.ratios = nil, nil
	return &c
}

// Status reports the method in use and why; auto counts its candidates' refits.
func (p *predictor) Status() Status {
	refits := p.refits
	if a, ok := p.m.(*auto); ok {
		refits = 0
		for _, s := range a.subs {
			refits += s.refits
		}
	}
	active, reason := p.activeReason()
	return Status{
		Method: p.method, Active: active, Reason: reason + p.bandNote(),
		Observed: p.observed, Missing: p.missing, Refits: refits,
	}
}

// activeReason names the method producing forecasts after the newest point and why (formatted
// here rather than at every point).
func (p *predictor) activeReason() (string, string) {
	switch {
	case p.observed == 0:
		return MethodLast, ""
	case p.usingBase:
		return p.fallbackName(), fmt.Sprintf("%s not ready: %s", p.method, p.m.waiting(&p.hist))
	}
	return p.method, p.m.describe()
}

// bandNote names the interval variant in use at horizons 1 and MaxHorizon.
func (p *predictor) bandNote() string {
	if p.observed == 0 {
		return ""
	}
	return fmt.Sprintf("; bands h=1 %s, h=%d %s", p.bands.variant(0), p.o.MaxHorizon, p.bands.variant(p.o.MaxHorizon-1))
}
