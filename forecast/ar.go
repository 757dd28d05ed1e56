package forecast

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/mat"
)

// arMinPerLag is how many points per coefficient a fit needs.
const arMinPerLag = 10

// autoRegressive is an AR(p) model with intercept on the deseasonalised series (the series minus
// its additive seasonal profile), fitted by least squares (QR) for p = 1..maxLags and chosen by
// AIC. Forecasts recurse on the model's own predictions and add the profile back.
type autoRegressive struct {
	maxLags int
	season  seasonal
	coef    []float64 // intercept, then lag 1..p
	aic     float64
	d       []float64 // scratch: deseasonalised values (dropped after a refit when compact)
	compact bool
	lags    []float64 // scratch of predict
}

func (m *autoRegressive) ready(h *history) bool { return h.n() >= 2*arMinPerLag }

func (m *autoRegressive) waiting(h *history) string {
	return fmt.Sprintf("history %d < %d points", h.n(), 2*arMinPerLag)
}

func (m *autoRegressive) observe(*history, float64) {}

func (m *autoRegressive) refit(h *history) {
	m.season.fit(h)
	vals, _, base := h.view()
	m.d = m.d[:0]
	for i, v := range vals {
		m.d = append(m.d, v-m.season.at(base+i))
	}
	m.coef, m.aic = []float64{mean(m.d)}, math.Inf(1) // AR(0) unless a fit succeeds
	maxP := min(m.maxLags, len(m.d)/arMinPerLag-1)
	for p := 1; p <= maxP; p++ {
		coef, aic, ok := fitAR(m.d, p)
		if ok && aic < m.aic {
			m.coef, m.aic = coef, aic
		}
	}
	if m.compact { // a day's refit may allocate; a warm forecaster should not hold a history's copy
		m.d = nil
	}
}

// fitAR fits AR(p) with intercept to d by least squares and returns the coefficients and AIC.
func fitAR(d []float64, p int) ([]float64, float64, bool) {
	rows := len(d) - p
	if rows <= p+1 {
		return nil, 0, false
	}
	x := mat.NewDense(rows, p+1, nil)
	y := mat.NewVecDense(rows, nil)
	for r := range rows {
		x.Set(r, 0, 1)
		for j := 1; j <= p; j++ {
			x.Set(r, j, d[p+r-j])
		}
		y.SetVec(r, d[p+r])
	}
	var beta mat.VecDense
	if err := beta.SolveVec(x, y); err != nil {
		return nil, 0, false
	}
	var fit mat.VecDense
	fit.MulVec(x, &beta)
	fit.SubVec(y, &fit)
	rss := mat.Dot(&fit, &fit)
	if rss <= 0 || math.IsNaN(rss) {
		rss = 1e-12
	}
	aic := float64(rows)*math.Log(rss/float64(rows)) + 2*float64(p+1)
	return mat.Col(nil, 0, &beta), aic, true
}

func (m *autoRegressive) predict(h *history, out []float64) {
	n, p := h.n(), len(m.coef)-1
	if p < 0 || n < p {
		(&lastValue{}).predict(h, out)
		return
	}
	t0 := h.next() - 1
	m.lags = slices.Grow(m.lags[:0], p)[:p]
	lags := m.lags // lags[j] = d at t0-j
	for j := range p {
		lags[j] = h.vals[n-1-j] - m.season.at(t0-j)
	}
	for i := range out {
		v := m.coef[0]
		for j := 1; j <= p; j++ {
			v += m.coef[j] * lags[j-1]
		}
		if p > 0 {
			copy(lags[1:], lags[:p-1])
			lags[0] = v
		}
		out[i] = v + m.season.at(t0+i+1)
	}
}

func (m *autoRegressive) clone() model {
	c := *m
	c.season = m.season.clone()
	c.coef = append([]float64(nil), m.coef...)
	c.d, c.lags = nil, nil
	return &c
}

func (m *autoRegressive) describe() string {
	adj := "raw series (history under two seasons)"
	if m.season.on() {
		adj = "deseasonalised series"
	}
	return fmt.Sprintf("AR(%d) with intercept on the %s, order by AIC", max(len(m.coef)-1, 0), adj)
}
