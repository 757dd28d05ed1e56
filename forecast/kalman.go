package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat"
)

// kalmanMinPoints is the history the variance fit needs.
const kalmanMinPoints = 10

// kalmanLLT is a local linear trend model (level and slope random walks; Harvey, "Forecasting,
// structural time series models and the Kalman filter", 1989) on the deseasonalised series. The
// level and slope noise variances, relative to the observation noise, maximise the concentrated
// Gaussian likelihood (Nelder-Mead on their logs); the filter then runs one step per point.
type kalmanLLT struct {
	season seasonal

	qLevel, qSlope, r float64 // absolute variances
	fitted            bool

	level, slope  float64
	p00, p01, p11 float64
}

func (m *kalmanLLT) ready(h *history) bool { return h.n() >= kalmanMinPoints }

func (m *kalmanLLT) waiting(h *history) string {
	return fmt.Sprintf("history %d < %d points", h.n(), kalmanMinPoints)
}

func (m *kalmanLLT) observe(h *history, _ float64) {
	if !m.fitted {
		return
	}
	t := h.next() - 1
	m.filter(h.vals[t-h.base]-m.season.at(t), h.missing(t-h.base))
}

// filter predicts one step and, unless missing, updates with y. It returns the innovation and
// its variance (0, 0 when missing).
func (m *kalmanLLT) filter(y float64, missing bool) (float64, float64) {
	l, b := m.level+m.slope, m.slope
	p00 := m.p00 + 2*m.p01 + m.p11 + m.qLevel
	p01 := m.p01 + m.p11
	p11 := m.p11 + m.qSlope
	m.level, m.slope, m.p00, m.p01, m.p11 = l, b, p00, p01, p11
	if missing {
		return 0, 0
	}
	v, s := y-l, p00+m.r
	if s <= 0 {
		return 0, 0
	}
	k0, k1 := p00/s, p01/s
	m.level, m.slope = l+k0*v, b+k1*v
	m.p00, m.p01, m.p11 = p00-k0*p00, p01-k0*p01, p11-k1*p01
	return v, s
}

func (m *kalmanLLT) refit(h *history) {
	m.season.fit(h)
	vals, miss, base := h.view()
	d := make([]float64, len(vals))
	for i, v := range vals {
		d[i] = v - m.season.at(base+i)
	}
	sd := stat.StdDev(d, nil)
	if !(sd > 0) {
		sd = 1
	}
	obj := func(x []float64) float64 {
		m.qLevel, m.qSlope, m.r = math.Exp(x[0])*sd*sd, math.Exp(x[1])*sd*sd, sd*sd
		return m.negLogLik(d, miss, sd)
	}
	x0 := []float64{math.Log(0.1), math.Log(1e-4)}
	res, err := optimize.Minimize(optimize.Problem{Func: obj}, x0,
		&optimize.Settings{FuncEvaluations: 150, Converger: &optimize.FunctionConverge{Absolute: 1e-6, Relative: 1e-6, Iterations: 25}},
		&optimize.NelderMead{})
	x := x0
	if res != nil && (err == nil || !math.IsNaN(res.F)) {
		x = res.X
	}
	// The observation variance is concentrated out: rescale all three by the fitted sigma^2.
	m.qLevel, m.qSlope, m.r = math.Exp(x[0])*sd*sd, math.Exp(x[1])*sd*sd, sd*sd
	sigma2 := m.run(d, miss, sd)
	m.qLevel, m.qSlope, m.r = m.qLevel*sigma2, m.qSlope*sigma2, m.r*sigma2
	m.run(d, miss, sd)
	m.fitted = true
}

// run filters d from a vague prior and returns the concentrated variance scale (mean of v^2/s).
func (m *kalmanLLT) run(d []float64, miss flags, sd float64) float64 {
	m.level, m.slope = d[0], 0
	m.p00, m.p01, m.p11 = 1e4*sd*sd, 0, 1e2*sd*sd
	sum, n := 0.0, 0
	for i := 1; i < len(d); i++ {
		v, s := m.filter(d[i], miss.at(i))
		if s > 0 && i > 2 {
			sum += v * v / s
			n++
		}
	}
	if n == 0 || !(sum > 0) {
		return 1
	}
	return sum / float64(n)
}

// negLogLik is the concentrated negative log-likelihood of d (up to constants).
func (m *kalmanLLT) negLogLik(d []float64, miss flags, sd float64) float64 {
	m.level, m.slope = d[0], 0
	m.p00, m.p01, m.p11 = 1e4*sd*sd, 0, 1e2*sd*sd
	sumV, n := 0.0, 0
	var logs logSum
	for i := 1; i < len(d); i++ {
		v, s := m.filter(d[i], miss.at(i))
		if s > 0 && i > 2 {
			sumV += v * v / s
			logs.add(s)
			n++
		}
	}
	if n == 0 || !(sumV > 0) {
		return math.Inf(1)
	}
	return float64(n)*math.Log(sumV/float64(n)) + logs.sum()
}

// logSum accumulates a sum of natural logarithms of positive values as a product: the binary
// exponents are summed as integers and the mantissas (in [1, 2)) multiplied, with one logarithm
// per 32 values instead of one per value. It agrees with summing math.Log to rounding.
type logSum struct {
	mant float64 // product of up to 32 mantissas, in [1, 2^32)
	k    int     // mantissas in mant
	exp  int     // sum of binary exponents
	acc  float64 // logarithms of finished products and of values that are not normal numbers
}

func (l *logSum) add(x float64) {
	b := math.Float64bits(x)
	e := int(b>>52) & 0x7ff
	if e == 0 || e == 0x7ff { // zero, subnormal, Inf or NaN: take the logarithm itself
		l.acc += math.Log(x)
		return
	}
	m := math.Float64frombits(b&^(0x7ff<<52) | 1023<<52)
	l.exp += e - 1023
	if l.k == 0 {
		l.mant = m
	} else {
		l.mant *= m
	}
	if l.k++; l.k == 32 {
		l.acc += math.Log(l.mant)
		l.k = 0
	}
}

func (l *logSum) sum() float64 {
	s := l.acc + float64(l.exp)*math.Ln2
	if l.k > 0 {
		s += math.Log(l.mant)
	}
	return s
}

func (m *kalmanLLT) predict(h *history, out []float64) {
	t := h.next() - 1
	for i := range out {
		out[i] = m.level + float64(i+1)*m.slope + m.season.at(t+i+1)
	}
}

func (m *kalmanLLT) clone() model {
	c := *m
	c.season = m.season.clone()
	return &c
}

func (m *kalmanLLT) describe() string {
	adj := "raw series (history under two seasons)"
	if m.season.on() {
		adj = "deseasonalised series"
	}
	return fmt.Sprintf("local linear trend Kalman filter on the %s, q_level/r %.3g, q_slope/r %.3g", adj, m.qLevel/m.r, m.qSlope/m.r)
}
