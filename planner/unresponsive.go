package planner

import "time"

// A latency that does not fall when replicas are added is not a capacity shortage: in an
// aggregated worker, prefill chunks pause every decode batch whatever the worker count, so the
// ITL percentile stays where it is while the guard adds a worker each interval (the closed-loop
// aggregated scenario went 4 -> 11 at a constant load). The guard remembers the latency, load and
// ready replicas of its last latency-driven scale-up; once more replicas serve the same load and
// the latency is no better, it stops asking, with a latency-unresponsive reason, until the load
// or the latency moves past the mark or markLife passes.
const (
	// minGuardGain is the least relative fall of the latency that counts as a response.
	minGuardGain = 0.05
	// markMoved is the relative rise of the load or the latency that re-arms the guard.
	markMoved = 0.1
	markLife  = time.Hour
)

// latencyMark is the service's last scale-up asked by one latency's guard (TTFT or ITL).
type latencyMark struct {
	at           time.Time
	latency      float64 // the breaching percentile, s
	load         float64 // requests/s
	ready        int32
	unresponsive bool // more replicas served the same load at no lower latency
}

// unlessUnresponsive passes one latency's guard ask through, or drops it when its mark m shows
// more replicas do not help, and keeps the mark up to date.
func (r *run) unlessUnresponsive(ask guardAsk, m *latencyMark) guardAsk {
	if ask.code == "" {
		return ask
	}
	load := r.obs.RequestRate.V
	valid := !m.at.IsZero() && r.now.Sub(m.at) < markLife &&
		load <= m.load*(1+markMoved) && ask.value <= m.latency*(1+markMoved)
	if valid && r.ready > m.ready {
		if ask.value > m.latency*(1-minGuardGain) {
			m.unresponsive = true
		} else {
			valid = false // it helped: the next scale-up is marked afresh
		}
	}
	if valid && m.unresponsive {
		r.add(StepGuard, CodeUnresponsive, r.want, r.want, ask.value, m.latency, "more ready replicas at the same load did not lower it")
		return guardAsk{}
	}
	if ask.want > r.want && !valid {
		*m = latencyMark{at: r.now, latency: ask.value, load: load, ready: r.ready}
	}
	return ask
}
