package planner

import (
	"math"
)

// LoadHistory is a deployment's past load, evenly spaced at the policy's planning interval,
// oldest first, ending one interval before the first live tick. The three load series have the
// same length; NaN marks a missing point.
type LoadHistory struct {
	RequestRate  []float64 // requests/s
	InputTokens  []float64 // mean input tokens per request
	OutputTokens []float64 // mean output tokens per request
	// TTFTAttained and ITLAttained are the fraction of each interval's requests within the TTFT
	// and ITL targets (Observations.TTFTAttained, ITLAttained), for the error budget's replay
	// (WarmBudget). They may be shorter than the load series (the objective window is enough)
	// and are aligned with them on the newest point; NaN marks an unknown point.
	TTFTAttained, ITLAttained []float64
}

// Warm feeds past load to the forecasters and the reserve's growth trackers exactly as Plan feeds
// live observations (request rate,
// and input/output token rates as rate x tokens per request), so the first live forecast starts
// from the history (and the reserve is warm when the history holds an hour or more). It returns the number of points fed (the shortest series' length). Series of
// different lengths are aligned on their newest point. It is pure.
func (st *State) Warm(h LoadHistory) int {
	n := min(len(h.RequestRate), len(h.InputTokens), len(h.OutputTokens))
	rate := h.RequestRate[len(h.RequestRate)-n:]
	in := h.InputTokens[len(h.InputTokens)-n:]
	out := h.OutputTokens[len(h.OutputTokens)-n:]
	for i := range n {
		r := rate[i]
		if r < 0 || math.IsInf(r, 0) {
			r = math.NaN()
		}
		vals := [numSignals]float64{r, r * in[i], r * out[i]}
		for k := range numSignals {
			if f := st.forecasters[k]; f != nil {
				f.Observe(vals[k])
			}
			if st.growth[k].ring != nil {
				st.growth[k].add(vals[k], countedRate(k, r))
			}
		}
	}
	return n
}
