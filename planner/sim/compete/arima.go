package compete

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// arimaPredictor reproduces the behaviour of Dynamo's default load predictor, "arima"
// (components/src/dynamo/planner/utils/load_predictor.py, ARIMAPredictor, load_predictor default
// "arima", minimum_data_points 5), which wraps pmdarima.auto_arima:
//
//   - NaN becomes 0, leading zeros are skipped, outputs are clamped to >= 0;
//   - below 5 points it returns the last value; if every value is identical it returns it;
//   - otherwise the differencing order d (0..2) is chosen by KPSS tests at the 5% level (auto_arima's
//     default test), then the order by AIC, and the next value is forecast;
//   - when the fit has no dynamics (order (0,d,0)) it refits in log1p space, as Dynamo does.
//
// Approximation, stated: auto_arima searches ARIMA(p,d,q) by maximum likelihood; this fits AR(p)
// (p <= 3) with intercept by least squares on the differenced series (no MA terms), refitting on the
// whole buffer at each prediction instead of updating the model incrementally.
type arimaPredictor struct {
	buf     []float64
	started bool
}

// arimaMinPoints is Dynamo's minimum_data_points for the ARIMA predictor.
const arimaMinPoints = 5

// arimaMaxBuffer caps the points kept (a day at Dynamo's 180 s interval is 480).
const arimaMaxBuffer = 480

// add records one observation.
func (a *arimaPredictor) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		v = 0
	}
	if !a.started && v == 0 {
		return // leading zeros: the post-deploy idle period
	}
	a.started = true
	a.buf = append(a.buf, v)
	if len(a.buf) > arimaMaxBuffer {
		a.buf = append(a.buf[:0], a.buf[len(a.buf)-arimaMaxBuffer:]...)
	}
}

// next predicts the next value; ok is false with no data at all.
func (a *arimaPredictor) next() (float64, bool) {
	n := len(a.buf)
	if n == 0 {
		return 0, false
	}
	last := a.buf[n-1]
	if n < arimaMinPoints || allEqual(a.buf) {
		return last, true
	}
	v, p, ok := arimaForecast(a.buf)
	if ok && p == 0 {
		logged := make([]float64, n)
		for i, x := range a.buf {
			logged[i] = math.Log1p(max(x, 0))
		}
		if lv, _, lok := arimaForecast(logged); lok {
			v, ok = math.Expm1(lv), true
		}
	}
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return last, true
	}
	return max(v, 0), true
}

func allEqual(xs []float64) bool {
	for _, x := range xs {
		if x != xs[0] {
			return false
		}
	}
	return true
}

// arimaForecast picks d by KPSS, then AR(p) by AIC on the d-times differenced series, and returns
// the one-step forecast of the original series and the AR order chosen.
func arimaForecast(xs []float64) (float64, int, bool) {
	d, series := 0, xs
	var lasts []float64
	for d < 2 && len(series) > arimaMinPoints && kpssStat(series) > kpssCritical5 {
		lasts = append(lasts, series[len(series)-1])
		series = diff(series)
		d++
	}
	best, bestAIC, bestP := mean(series), aicOf(series, nil, 0), 0
	for p := 1; p <= 3 && len(series)-p > p+2; p++ {
		coef, ok := fitARCoef(series, p)
		if !ok {
			continue
		}
		if aic := aicOf(series, coef, p); aic < bestAIC {
			bestAIC, bestP = aic, p
			best = coef[0]
			for j := 1; j <= p; j++ {
				best += coef[j] * series[len(series)-j]
			}
		}
	}
	for i := len(lasts) - 1; i >= 0; i-- {
		best += lasts[i]
	}
	return best, bestP, true
}

// kpssCritical5 is the KPSS level-stationarity critical value at 5% (Kwiatkowski et al. 1992).
const kpssCritical5 = 0.463

// kpssStat is the KPSS level-stationarity statistic with pmdarima's short lag truncation
// (trunc(3 sqrt(n) / 13)) and Bartlett weights.
func kpssStat(xs []float64) float64 {
	n := len(xs)
	m := mean(xs)
	e := make([]float64, n)
	var s, eta float64
	for i, x := range xs {
		e[i] = x - m
		s += e[i]
		eta += s * s
	}
	lags := int(3 * math.Sqrt(float64(n)) / 13)
	var v float64
	for _, x := range e {
		v += x * x
	}
	for l := 1; l <= lags; l++ {
		var c float64
		for i := l; i < n; i++ {
			c += e[i] * e[i-l]
		}
		v += 2 * (1 - float64(l)/float64(lags+1)) * c
	}
	v /= float64(n)
	if v <= 0 {
		return 0
	}
	return eta / (float64(n) * float64(n) * v)
}

func diff(xs []float64) []float64 {
	out := make([]float64, len(xs)-1)
	for i := range out {
		out[i] = xs[i+1] - xs[i]
	}
	return out
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(max(len(xs), 1))
}

// fitARCoef fits AR(p) with intercept by least squares: coef[0] intercept, coef[j] lag j.
func fitARCoef(d []float64, p int) ([]float64, bool) {
	rows := len(d) - p
	x := mat.NewDense(rows, p+1, nil)
	y := mat.NewVecDense(rows, nil)
	for r := range rows {
		x.Set(r, 0, 1)
		for j := 1; j <= p; j++ {
			x.Set(r, j, d[p+r-j])
		}
		y.SetVec(r, d[p+r])
	}
	var qr mat.QR
	qr.Factorize(x)
	var b mat.VecDense
	if err := qr.SolveVecTo(&b, false, y); err != nil {
		return nil, false
	}
	coef := make([]float64, p+1)
	for i := range coef {
		coef[i] = b.AtVec(i)
	}
	return coef, true
}

// aicOf is the Gaussian AIC of AR(p) (coef nil: the mean) over the points it can predict.
func aicOf(d, coef []float64, p int) float64 {
	var rss float64
	n := 0
	m := mean(d)
	for i := p; i < len(d); i++ {
		pred := m
		if coef != nil {
			pred = coef[0]
			for j := 1; j <= p; j++ {
				pred += coef[j] * d[i-j]
			}
		}
		rss += (d[i] - pred) * (d[i] - pred)
		n++
	}
	if n == 0 {
		return math.Inf(1)
	}
	return float64(n)*math.Log(max(rss/float64(n), 1e-12)) + 2*float64(p+1)
}
