package model

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Learning parameters.
const (
	// LearnedSamples is how many (load, latency) samples a Learned model keeps (the most recent).
	LearnedSamples = 128
	// minLearnedSamples is how many samples a fit needs.
	minLearnedSamples = 8
	// minLoadSpread is the smallest (max-min)/max spread of the loads a fit needs: without it the
	// slope is noise.
	minLoadSpread = 0.2
	// huberK is Huber's tuning constant in units of the residual scale: 1.345 gives 95% efficiency
	// under normal errors (Huber 1964; Holland & Welsch 1977).
	huberK = 1.345
	// madToSigma turns a median absolute deviation into a normal standard deviation.
	madToSigma = 1 / 0.6745
	// irlsIterations bounds the reweighting loop.
	irlsIterations = 10
	// maxExtrapolation caps a learned capacity at this multiple of the largest load seen.
	maxExtrapolation = 1.5
)

// Learned fits latency = a + b x load per replica from observations, robustly: a Huber
// M-estimator by iteratively reweighted least squares (gonum's weighted LinearRegression), so a
// few outliers (a slow scrape, a GC pause) do not move the line. Callers must not feed samples
// from replicas still warming up (the planner drops samples while desired != ready or within the
// startup time of a change). Learned is a value: copying it snapshots it; it does not allocate
// after construction.
type Learned struct {
	x, y    [LearnedSamples]float64
	n, next int
}

// Observe records one sample: load per replica (any consistent unit, e.g. tokens/s) and the
// latency it produced (seconds). Non-finite or negative values are ignored.
func (l *Learned) Observe(load, latency float64) {
	if !(load >= 0) || !(latency > 0) || math.IsInf(load, 0) || math.IsInf(latency, 0) {
		return
	}
	l.x[l.next], l.y[l.next] = load, latency
	l.next = (l.next + 1) % LearnedSamples
	l.n = min(l.n+1, LearnedSamples)
}

// Samples is the number of samples held.
func (l *Learned) Samples() int { return l.n }

// Fit returns the robust line latency = a + b x load, and false when there are too few samples
// or too little spread in load to fit one.
func (l *Learned) Fit() (a, b float64, ok bool) {
	n := l.n
	if n < minLearnedSamples {
		return 0, 0, false
	}
	x, y := l.x[:n], l.y[:n]
	lo, hi := slices.Min(x), slices.Max(x)
	if hi <= 0 || (hi-lo)/hi < minLoadSpread {
		return 0, 0, false
	}
	// The weights and residuals are scratch of this fit, on the stack: kept in Learned they
	// doubled the size of every service's two models.
	var ws, rs [LearnedSamples]float64
	w, resid := ws[:n], rs[:n]
	for i := range w {
		w[i] = 1
	}
	for range irlsIterations {
		a, b = stat.LinearRegression(x, y, w, false)
		if !l.reweight(a, b, w, resid) {
			break
		}
	}
	return a, b, !math.IsNaN(a) && !math.IsNaN(b)
}

// Scale returns the robust standard deviation of the samples around the line a + b x: the median
// absolute residual / 0.6745, the scale Fit's Huber weights use.
func (l *Learned) Scale(a, b float64) float64 {
	if l.n == 0 {
		return 0
	}
	var rs [LearnedSamples]float64
	return l.residualScale(a, b, rs[:l.n])
}

// residualScale is Scale with r (of length n) as scratch; it leaves r sorted.
func (l *Learned) residualScale(a, b float64, r []float64) float64 {
	for i := range r {
		r[i] = math.Abs(l.y[i] - (a + b*l.x[i]))
	}
	return median(r) * madToSigma
}

// reweight sets the Huber weights w from the residuals of a + b x (r is scratch of the same
// length) and reports whether any weight moved.
func (l *Learned) reweight(a, b float64, w, r []float64) bool {
	n := l.n
	scale := l.residualScale(a, b, r) // sorts r; residuals are recomputed below
	changed := false
	for i := range n {
		wi := 1.0
		if e, c := math.Abs(l.y[i]-(a+b*l.x[i])), huberK*scale; scale > 0 && e > c {
			wi = c / e
		}
		if math.Abs(wi-w[i]) > 1e-6 {
			changed = true
		}
		w[i] = wi
	}
	return changed
}

// median sorts r in place and returns its median.
func median(r []float64) float64 {
	slices.Sort(r)
	m := len(r) / 2
	if len(r)%2 == 1 {
		return r[m]
	}
	return (r[m-1] + r[m]) / 2
}

// LoadAt returns the load per replica at which the fitted latency reaches target (seconds), capped
// at maxExtrapolation x the largest load observed. When latency does not grow with load over the
// observed range, the largest observed load is returned if its latency met the target: the
// replica is known to carry at least that. False means no fit or a target below the fit.
func (l *Learned) LoadAt(target float64) (float64, bool) {
	a, b, ok := l.Fit()
	if !ok || !(target > 0) {
		return 0, false
	}
	hi := slices.Max(l.x[:l.n])
	if b <= 0 {
		if a+b*hi <= target {
			return hi, true
		}
		return 0, false
	}
	x := (target - a) / b
	if x <= 0 {
		return 0, false
	}
	return min(x, maxExtrapolation*hi), true
}
