package planner

import (
	"math"
	"slices"
	"time"

	"github.com/tidal-planner/tidal/forecast"
)

// The forecast bound: how far above the recently observed peak the planner believes a forecast's
// upper bound over the lead time. A forecaster's interval is only as good as the history behind
// it: on a cold or bursty series a 90% band can be several times anything observed, and sizing for
// it buys replicas for load nobody has seen. docs/planner.md explains the choice of factors.
const (
	// recentCap is how many intervals of observed load the planner remembers for the bound.
	recentCap = 64
	// coldBoundFactor bounds the planned load at this multiple of the recent observed peak while
	// the forecaster reports that it is not yet running its method (short history: a fallback).
	coldBoundFactor = 1.5
	// warmBoundFactor bounds it at this multiple for a forecaster running its own method: a band
	// wider than this is absurd for a lead time of minutes, whatever the history says.
	warmBoundFactor = 3.0
)

// recentLoad remembers the last recentCap observed values of the three load signals (request
// rate, input token rate, output token rate; NaN when missing) in a ring allocated on first use.
// Copies share the ring: State.Clone deep-copies it with clone.
type recentLoad struct {
	vals [][numSignals]float64 // len recentCap once used
	n    int                   // values held, at most recentCap
	next int                   // ring index of the next write
}

// add records one interval's observed load.
func (r *recentLoad) add(v [numSignals]float64) {
	if r.vals == nil {
		r.vals = make([][numSignals]float64, recentCap)
	}
	r.vals[r.next] = v
	r.next = (r.next + 1) % recentCap
	r.n = min(r.n+1, recentCap)
}

// peak returns the largest finite value of signal k over the newest steps intervals, and false
// when none was observed.
func (r *recentLoad) peak(k signal, steps int) (float64, bool) {
	best, ok := 0.0, false
	for i := range min(steps, r.n) {
		v := r.vals[(r.next-1-i+2*recentCap)%recentCap][k]
		if !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0 {
			best, ok = max(best, v), true
		}
	}
	return best, ok
}

// clone returns an independent copy.
func (r recentLoad) clone() recentLoad {
	r.vals = slices.Clone(r.vals)
	return r
}

// peakSteps is the window of the recent peak in intervals: the scale-down window or the longest
// lead time, whichever is longer, within recentCap.
func peakSteps(window, interval time.Duration, lead int) int {
	steps := lead
	if interval > 0 {
		steps = max(steps, int((window+interval-1)/interval))
	}
	return min(max(steps, 1), recentCap)
}

// bound is the ceiling on one signal's forecast upper bound, and whether the forecaster was cold.
type bound struct {
	limit float64 // +Inf when unbounded (nothing observed yet)
	cold  bool
}

// boundFor returns the bound on a forecast upper bound given the recent peak: warmBoundFactor x
// peak, or coldBoundFactor x peak when cold() says the forecaster is cold. cold is called only
// when the upper bound exceeds the cold bound (asking a forecaster's Status formats strings).
func boundFor(upper, peak float64, havePeak bool, cold func() bool) bound {
	if !havePeak || upper <= peak*coldBoundFactor {
		return bound{limit: math.Inf(1)}
	}
	if cold() {
		return bound{limit: peak * coldBoundFactor, cold: true}
	}
	return bound{limit: peak * warmBoundFactor}
}

// coldness answers isCold for the three load forecasters within one Plan, asking each
// forecaster's Status at most once per call and not at all once it has been seen warm (a
// forecaster's history only grows). The token-rate forecasters see the same intervals as the
// request-rate one: when that one is cold they are taken as cold without asking.
type coldness struct {
	warm      [numSignals]bool // per signal: seen warm; kept in State
	rateCold  bool             // this call: the request-rate forecaster is cold
	rateAsked bool
}

// cold reports whether forecaster f of signal k is cold (minHistory as in isCold).
func (c *coldness) cold(k signal, f forecast.Forecaster, minHistory int) bool {
	if c.warm[k] {
		return false
	}
	if k != sigRequests && c.rateAsked && c.rateCold {
		return true
	}
	cold := isCold(f, minHistory)
	c.warm[k] = !cold
	if k == sigRequests {
		c.rateCold, c.rateAsked = cold, true
	}
	return cold
}

// newCall clears what one Plan call learnt (the warm flags are kept).
func (c *coldness) newCall() { c.rateCold, c.rateAsked = false, false }

// isCold reports whether the forecaster has too little evidence for its band: it says it is on a
// fallback while history is short, or it has seen fewer than minHistory present points (one
// season, or recentCap intervals without seasonality: see coldHistory). Forecasters that do not
// describe themselves are taken as warm.
func isCold(f forecast.Forecaster, minHistory int) bool {
	d, ok := f.(forecast.Describer)
	if !ok {
		return false
	}
	s := d.Status()
	return s.Active != s.Method || s.Observed-s.Missing < minHistory
}

// coldHistory is the history, in intervals, below which a forecaster counts as cold: one season
// when the policy names one, else recentCap intervals.
func coldHistory(season, interval time.Duration) int {
	if interval <= 0 || season < interval {
		return recentCap
	}
	return int(min(season/interval, 1<<30))
}

// The bound factors as the reasons print them.
const (
	coldFactor     = "1.5"
	bandWideFactor = "3"
)
