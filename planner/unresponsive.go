package planner

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner/model"
)

// A latency that does not fall when replicas are added is not a capacity shortage: in an
// aggregated worker, prefill chunks pause every decode batch whatever the worker count, so the
// ITL percentile stays where it is while the guard adds a worker each interval (the closed-loop
// aggregated scenario went 4 -> 11 at a constant load). The guard remembers the latency, load and
// ready replicas of its last latency-driven scale-up; once more replicas serve the same load and
// the latency is no better, it stops asking, with a latency-unresponsive reason, until the load
// or the latency moves past the mark or markLife passes.
//
// The mark compares single readings, and a latency percentile moves 10-15% between intervals at a
// constant load and count, so a noisy reading re-arms it (the hybrid example's slow world ran its
// maximum of 8 workers for 8 hours where its sized need was 5-6). So the guard also asks the
// service's online fit of the latency against load per replica (model.Learned, up to 128 steady
// intervals): when the fit explains the reading (fitExplains) and predicts that the asked replicas
// lower the latency by less than minGuardGain, the ask is dropped as unresponsive. The fit only
// adds that verdict; where it predicts a gain, the mark still judges.
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

// unlessUnresponsive passes one latency's guard ask through, or drops it when the latency's online
// fit (tokens per request are its load unit) or its mark m shows more replicas do not help, and
// keeps the mark up to date.
func (r *run) unlessUnresponsive(ask guardAsk, m *latencyMark, fit *model.Learned, tokens float64) guardAsk {
	if ask.code == "" {
		return ask
	}
	if gain, at, ok := r.fittedGain(fit, tokens, ask.want, ask.value); ok && gain < minGuardGain {
		r.add(StepGuard, CodeUnresponsive, r.want, r.want, ask.value, at, "the fit of latency against load per replica says the ask would lower it by under 5%")
		return guardAsk{}
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

// fitExplains is how many of the fit's robust standard deviations (model.Learned.Scale) the
// observed latency may sit from the fit's line for the fit to judge the guard's ask. A decode batch
// past its ITL knee reads several times the line (the robust fit treats such readings as
// outliers), and there more replicas do help.
const fitExplains = 3

// fittedGain is the relative fall of the latency the service's online fit (latency = a + b x load
// per replica, model.Learned) predicts from ready to want replicas at the observed load, with the
// latency it predicts at want; false when there is no fit or it does not explain the observed
// latency v (fitExplains).
func (r *run) fittedGain(fit *model.Learned, tokens float64, want int32, v float64) (gain, at float64, ok bool) {
	x := r.obs.RequestRate.V * tokens / float64(max(r.ready, 1))
	if !(x > 0) || want <= 0 {
		return 0, 0, false
	}
	a, b, ok := fit.Fit()
	if !ok {
		return 0, 0, false
	}
	now := a + b*x
	if !(now > 0) || math.Abs(v-now) > fitExplains*fit.Scale(a, b) {
		return 0, 0, false
	}
	at = a + b*x*float64(max(r.ready, 1))/float64(want)
	return (now - at) / now, at, true
}
