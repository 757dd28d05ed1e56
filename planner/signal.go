package planner

// signal names one of the three load signals the planner observes, forecasts and reserves for.
// Every per-signal array (the growth trackers, the recent load, the forecast bounds) is indexed by
// it, in this order.
type signal int

const (
	sigRequests signal = iota // requests/s
	sigInput                  // prompt tokens/s: the request rate x the mean input length
	sigOutput                 // output tokens/s: the request rate x the mean output length
	numSignals                // how many signals there are
)
