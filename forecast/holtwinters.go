package forecast

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// hwMinPoints is the history below which even the non-seasonal (Holt) form is not fitted.
const hwMinPoints = 10

// holtWinters is additive Holt-Winters with a damped trend (Gardner and McKenzie's damping; the
// recursions follow Hyndman and Athanasopoulos, "Forecasting: Principles and Practice", §8.3).
// While history is shorter than two seasons it runs without a seasonal component (damped Holt).
// Parameters minimise the sum of squared one-step errors over the history (Nelder-Mead on
// logistic transforms that keep them in range).
type holtWinters struct {
	period int

	alpha, beta, gamma, phi float64
	seasonalOn              bool
	fitted                  bool

	level, trend float64
	season       []float64 // by absolute phase (step % period)
}

func (m *holtWinters) ready(h *history) bool { return h.n() >= hwMinPoints }

func (m *holtWinters) waiting(h *history) string {
	return fmt.Sprintf("history %d < %d points", h.n(), hwMinPoints)
}

// wantSeason reports whether h is long enough for the seasonal form.
func (m *holtWinters) wantSeason(h *history) bool { return m.period >= 2 && h.n() >= 2*m.period }

func (m *holtWinters) observe(h *history, _ float64) {
	if !m.fitted {
		return
	}
	if m.wantSeason(h) != m.seasonalOn {
		m.refit(h)
		return
	}
	m.step(h.vals[h.n()-1], h.next()-1)
}

// step applies one observation y at absolute step t to the state.
func (m *holtWinters) step(y float64, t int) {
	ph := 0
	if m.seasonalOn {
		ph = t % m.period
	}
	m.stepAt(y, ph)
}

// stepAt is step with the seasonal phase t % period given (ignored without a season).
func (m *holtWinters) stepAt(y float64, ph int) {
	s := 0.0
	if m.seasonalOn {
		s = m.season[ph]
	}
	prevLevel, prevTrend := m.level, m.trend
	m.level = m.alpha*(y-s) + (1-m.alpha)*(prevLevel+m.phi*prevTrend)
	m.trend = m.beta*(m.level-prevLevel) + (1-m.beta)*m.phi*prevTrend
	if m.seasonalOn {
		m.season[ph] = m.gamma*(y-prevLevel-m.phi*prevTrend) + (1-m.gamma)*s
	}
}

func (m *holtWinters) refit(h *history) {
	m.seasonalOn = m.wantSeason(h)
	if m.seasonalOn && len(m.season) != m.period {
		m.season = make([]float64, m.period)
	}
	x0 := []float64{logit(0.5), logit(0.05), logit(0.1), logit(0.5)}
	if m.fitted {
		x0 = []float64{logit(m.alpha), logit(m.beta), logit(m.gamma), logit((m.phi - 0.8) / 0.18)}
	}
	obj := func(x []float64) float64 { m.setParams(x); return m.run(h, true) }
	res, err := optimize.Minimize(optimize.Problem{Func: obj}, x0,
		&optimize.Settings{FuncEvaluations: 250, Converger: &optimize.FunctionConverge{Absolute: 1e-6, Relative: 1e-6, Iterations: 30}},
		&optimize.NelderMead{})
	if err == nil || res != nil && !math.IsNaN(res.F) {
		m.setParams(res.X)
	} else {
		m.setParams(x0)
	}
	m.run(h, false)
	m.fitted = true
}

// setParams maps unconstrained x to alpha, beta, gamma in (0, 1) and phi in (0.8, 0.98).
func (m *holtWinters) setParams(x []float64) {
	m.alpha, m.beta, m.gamma = logistic(x[0]), logistic(x[1]), logistic(x[2])
	m.phi = 0.8 + 0.18*logistic(x[3])
}

// run initialises the state from the start of h and filters through it, returning the mean
// squared one-step error (missing points are skipped in the sum). The seasonal phase is carried
// along instead of taken modulo the period at every point.
func (m *holtWinters) run(h *history, score bool) float64 {
	vals, miss, base := h.view()
	start := m.initState(vals, base)
	sse, n := 0.0, 0
	ph := 0
	if m.seasonalOn {
		ph = (base + start) % m.period
	}
	for i := start; i < len(vals); i++ {
		if score && !miss.at(i) {
			f := m.level + m.phi*m.trend
			if m.seasonalOn {
				f += m.season[ph]
			}
			e := vals[i] - f
			sse += e * e
			n++
		}
		m.stepAt(vals[i], ph)
		if m.seasonalOn {
			if ph++; ph == m.period {
				ph = 0
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sse / float64(n)
}

// initState sets level, trend and season from the first season(s) of vals (vals[0] is
// absolute step base) and returns the index filtering starts at.
func (m *holtWinters) initState(vals []float64, base int) int {
	P := m.period
	if !m.seasonalOn || len(vals) < 2*P {
		m.level, m.trend = vals[0], 0
		return 1
	}
	first, second := mean(vals[:P]), mean(vals[P:2*P])
	m.trend = (second - first) / float64(P)
	mid := float64(P-1) / 2
	for i := range P { // detrended deviations of the first season
		m.season[(base+i)%P] = vals[i] - (first + m.trend*(float64(i)-mid))
	}
	m.level = first + m.trend*mid // level at the end of the first season
	return P
}

func (m *holtWinters) predict(h *history, out []float64) {
	t := h.next() - 1
	damp, f := 0.0, m.phi
	for i := range out {
		damp += f
		f *= m.phi
		v := m.level + damp*m.trend
		if m.seasonalOn {
			v += m.season[(t+i+1)%m.period]
		}
		out[i] = v
	}
}

func (m *holtWinters) clone() model {
	c := *m
	c.season = append([]float64(nil), m.season...)
	return &c
}

func (m *holtWinters) describe() string {
	if !m.seasonalOn {
		return fmt.Sprintf("damped Holt on log scale (no seasonality: history under two seasons), alpha %.3f beta %.3f phi %.3f", m.alpha, m.beta, m.phi)
	}
	return fmt.Sprintf("damped Holt-Winters on log scale, alpha %.3f beta %.3f gamma %.3f phi %.3f", m.alpha, m.beta, m.gamma, m.phi)
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-6), 1-1e-6)
	return math.Log(p / (1 - p))
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
