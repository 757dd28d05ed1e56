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

// Status says which method a Forecaster is actually using and why, for the planner's reasons.
type Status struct {
	// Method is the method asked for (e.g. "holt-winters", "auto").
	Method string
	// Active is the method producing forecasts now: Method itself, a simpler fallback while
	// history is short, or for auto the blend it chose (e.g. "ar 0.62 + kalman 0.38").
	Active string
	// Reason explains Active in one line (fallback cause, fitted parameters, selection error).
	Reason string
	// Observed counts every point given to Observe; Missing counts those treated as missing
	// (NaN, negative, infinite, or inside a zero run long enough to be a collection gap).
	Observed, Missing int
	// Refits counts full parameter refits so far.
	Refits int
}

// Describer is implemented by every Forecaster this package returns.
type Describer interface {
	Status() Status
}
