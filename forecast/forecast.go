package forecast

// Point is one forecast step: the point value and the bounds of a prediction interval at the
// coverage the caller asked for (Lower <= Value <= Upper, all >= 0).
type Point struct {
	Value float64
	Lower float64
	Upper float64
}

// Forecaster predicts an evenly spaced, non-negative series one step at a time.
//
// Observe appends the next point (NaN marks a missing point); Forecast returns predictions for
// 1..h steps after the last observed point, appended to dst (which may be nil) so callers on a hot
// path can reuse a buffer. Implementations are deterministic, do no I/O and are not safe for
// concurrent use; Clone returns an independent deep copy.
type Forecaster interface {
	Name() string
	Observe(v float64)
	Forecast(dst []Point, h int, coverage float64) []Point
	Clone() Forecaster
}
