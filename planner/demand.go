package planner

import (
	"math"
	"time"
)

// Arrivals, not completions. Dynamo's frontend counts a request in requests_total when it ends
// (docs/simulate.md, "The simulated world"; ../shared/DESIGN.md), so the request rate the metrics
// give is the rate requests *leave*. While the deployment keeps up the two are the same; under
// overload completions are capped by capacity and hide the demand, and while a backlog drains they
// exceed it. Requests are conserved, so over one interval
//
//	arrivals = completions + (in flight now - in flight an interval ago) / interval
//
// with in-flight read from the frontend's inflight_requests gauge. The planner sizes, forecasts
// and measures growth on the arrivals estimate.

// inflightMark is the last in-flight reading and when it was taken.
type inflightMark struct {
	v  float64
	t  time.Time
	ok bool
}

// arrivals returns obs with its request rate replaced by the arrivals estimate when the in-flight
// gauge allows one (read this tick and the last, at most two intervals apart), the completion
// rate it replaced, and whether it did. It records this tick's reading either way.
func (st *State) arrivals(now time.Time, obs Observations, interval time.Duration) (Observations, float64, bool) {
	prev := st.inflight
	st.inflight = inflightMark{}
	in := obs.Inflight
	if !in.OK || math.IsNaN(in.V) || math.IsInf(in.V, 0) || in.V < 0 {
		return obs, 0, false
	}
	st.inflight = inflightMark{v: in.V, t: now, ok: true}
	dt := now.Sub(prev.t)
	if !prev.ok || dt <= 0 || dt > 2*interval || !obs.RequestRate.OK {
		return obs, 0, false
	}
	done := obs.RequestRate.V
	obs.RequestRate.V = max(done+(in.V-prev.v)/dt.Seconds(), 0)
	return obs, done, true
}

// noteArrivals says, for a worker, that the rate sized for is the arrivals estimate, when it
// differs from the completion rate by more than 5% (Value = arrivals, Limit = completions).
func (r *run) noteArrivals(done float64, corrected bool) {
	a := r.obs.RequestRate.V
	if corrected && math.Abs(a-done) > 0.05*max(done, 1) {
		r.add(StepObserve, CodeArrivals, r.cur, r.cur, a, done, "completions + in-flight growth")
	}
}
