package forecast

import "math"

// Replay feeds values to f one point at a time (a rolling origin) and returns, for every index t,
// the forecast of values[t] made h steps earlier, right after values[t-h] was observed. Entries
// with t < h have NaN fields. The interval is the central one at coverage (see Forecaster).
func Replay(f Forecaster, values []float64, h int, coverage float64) []Point {
	out := make([]Point, len(values))
	nan := math.NaN()
	for t := range min(h, len(values)) {
		out[t] = Point{nan, nan, nan}
	}
	var buf []Point
	for t, v := range values {
		f.Observe(v)
		if t+h < len(values) && h > 0 {
			buf = f.Forecast(buf[:0], h, coverage)
			out[t+h] = buf[h-1]
		}
	}
	return out
}

// Scores are accuracy measures of forecasts against actuals over the scored points.
type Scores struct {
	// N is the number of scored points.
	N int
	// SMAPE is the symmetric mean absolute percentage error, 0..200 (%): mean of
	// 200*|a-p|/(|a|+|p|), a term being 0 when a = p = 0.
	SMAPE float64
	// MASE is the mean absolute error divided by the given scale (see NaiveScale).
	MASE float64
	// Inside is the share of actuals within [Lower, Upper].
	Inside float64
	// UnderUpper is the share of actuals at or below Upper.
	UnderUpper float64
	// Pinball is the mean pinball (quantile) loss of Upper as the q-quantile:
	// q*(a-u) when a >= u, else (1-q)*(u-a).
	Pinball float64
}

// Score compares fc with actual where skip is false and both are finite. scale is the MASE
// denominator; q the quantile Upper stands for.
func Score(actual []float64, fc []Point, skip []bool, scale, q float64) Scores {
	var s Scores
	var ae float64
	for t := range min(len(actual), len(fc)) {
		a, p := actual[t], fc[t]
		if (t < len(skip) && skip[t]) || math.IsNaN(a) || math.IsNaN(p.Value) {
			continue
		}
		s.N++
		ae += math.Abs(a - p.Value)
		if d := math.Abs(a) + math.Abs(p.Value); d > 0 {
			s.SMAPE += 200 * math.Abs(a-p.Value) / d
		}
		if a >= p.Lower && a <= p.Upper {
			s.Inside++
		}
		if a <= p.Upper {
			s.UnderUpper++
			s.Pinball += (1 - q) * (p.Upper - a)
		} else {
			s.Pinball += q * (a - p.Upper)
		}
	}
	if s.N == 0 {
		return s
	}
	n := float64(s.N)
	s.SMAPE /= n
	s.MASE = ae / n / scale
	s.Inside /= n
	s.UnderUpper /= n
	s.Pinball /= n
	return s
}

// NaiveScale is the mean absolute one-step change of values over consecutive pairs that are
// both present (not skipped, finite): the MASE scale of the one-step naive forecast (Hyndman and
// Koehler, 2006). It is 1 when there is no such pair or the mean is 0.
func NaiveScale(values []float64, skip []bool) float64 {
	sum, n := 0.0, 0
	for t := 1; t < len(values); t++ {
		bad := func(i int) bool { return (i < len(skip) && skip[i]) || !usable(values[i]) }
		if bad(t) || bad(t-1) {
			continue
		}
		sum += math.Abs(values[t] - values[t-1])
		n++
	}
	if n == 0 || sum == 0 {
		return 1
	}
	return sum / float64(n)
}
