package planner

import (
	"math"

	"github.com/tidal-planner/tidal/policies"
)

// maxGuardFactor caps one latency-driven reactive scale-up at this multiple of the ready
// replicas; the rate limit then applies as usual.
const maxGuardFactor = 2.0

// guard scales up now when observed latencies or the queue already breach the SLO, whatever the
// forecast says, and runs on still-valid signals even when sizing held. A TTFT or ITL percentile
// above its target asks for ceil(ready x observed/target), capped at maxGuardFactor x ready and at
// least one more than ready; a queue breach (queueGuard) asks for what the backlog needs. The
// largest ask wins. Where there is a backlog the queue guard can judge (queue gauge, token lengths
// and a model), a TTFT breach asks nothing of its own: the high TTFT percentile is the backlog's
// symptom, and the backlog, sized by the queue guard, is what more replicas can clear. With the
// queue empty now, a TTFT breach asks only when the previous decision saw one with the queue empty
// too: the windowed
// percentile still shows a burst the queue gauge says is gone, while service or batching delay,
// which more replicas do shorten, persists.
func (r *run) guard() {
	role := r.svc.Role
	if role == policies.RoleFrontend {
		return
	}
	best := guardAsk{}
	ttft, itl := r.p.SLO.TTFT.Target.Seconds(), r.p.SLO.ITL.Target.Seconds()
	if role != policies.RoleDecode {
		q, judged := r.queueGuard(ttft)
		best = best.or(q)
		breach := r.latencyAsk(CodeTTFTBreach, r.obs.TTFTPercentile, ttft)
		persists, empty := r.ss.ttftBreached, r.queueEmpty(ttft)
		r.ss.ttftBreached = breach.code != "" && empty
		if !judged && (persists || !empty) {
			best = best.or(breach)
		}
	}
	if role != policies.RolePrefill {
		best = best.or(r.latencyAsk(CodeITLBreach, r.obs.ITLPercentile, itl))
	}
	if best.code != "" && best.want > r.want {
		r.add(StepGuard, best.code, r.want, best.want, best.value, best.limit, best.note)
		r.want = best.want
	}
}

// guardAsk is one reactive signal's ask: the replicas it wants and the numbers for its reason.
type guardAsk struct {
	code         Code
	want         int32
	value, limit float64
	note         string
}

// or returns the larger ask.
func (a guardAsk) or(b guardAsk) guardAsk {
	if b.code != "" && (a.code == "" || b.want > a.want) {
		return b
	}
	return a
}

// latencyAsk is the ask of an observed latency percentile v against its target t (none when
// within target or unknown): ceil(ready x v/t) within [ready + 1, maxGuardFactor x ready].
func (r *run) latencyAsk(code Code, v Value, t float64) guardAsk {
	if !v.OK || t <= 0 || !(v.V > t) {
		return guardAsk{}
	}
	return guardAsk{code: code, want: r.ratioAsk(v.V / t), value: v.V, limit: t}
}

// ratioAsk is ceil(ready x ratio), ratio capped at maxGuardFactor, and at least ready + 1.
func (r *run) ratioAsk(ratio float64) int32 {
	base := max(r.ready, 1)
	return max(int32(math.Ceil(float64(base)*min(ratio, maxGuardFactor))), base+1)
}

// queueGuard asks for replicas when a backlog would outlast a new replica's startup. The queue
// gauge counts every request without its first token, including those being prefilled, so one
// request per ready replica is taken as in service and only the excess waits. A backlog is no
// breach while its Little's-law wait (excess / request rate) is within the TTFT target, nor while
// the ready replicas' spare capacity clears it before a replica started now could serve
// (clearsBeforeStartup): new replicas would arrive after the backlog is gone, and the size step
// already covers the arrivals. Otherwise the ask is sized as a backlog to clear over one startup
// time, not as extra arrival rate: the replicas the model says carry rate + excess / startup.
// Without a usable model it is ceil(ready x wait/target), as for latencies.
func (r *run) queueGuard(target float64) (ask guardAsk, judged bool) {
	q, rate := r.obs.QueueDepth, r.obs.RequestRate
	if !q.OK || !rate.OK || !(rate.V > 0) || target <= 0 {
		return guardAsk{}, false
	}
	excess := q.V - float64(r.ready)
	wait := excess / rate.V // Little's law
	startup := max(r.svc.StartupTime.Seconds(), r.p.Planning.Interval.Seconds(), target)
	if !(wait > target) {
		return guardAsk{}, false // no backlog: a TTFT breach is service or batching delay
	}
	clears, known := r.clearsBeforeStartup(excess, rate.V, startup)
	if clears {
		return guardAsk{}, true
	}
	ask = guardAsk{code: CodeQueueBreach, value: wait, limit: target}
	if known {
		if g, ok := r.backlogNeed(rate.V + excess/startup); ok {
			if g <= r.ready {
				return guardAsk{}, true
			}
			ask.want, ask.note = g, "sized to clear the backlog over one startup time"
			return ask, true
		}
	}
	ask.want = r.ratioAsk(wait / target)
	return ask, false
}

// queueEmpty reports whether the queue gauge reads no backlog: known, with the excess over the
// ready replicas' Little's-law wait within the TTFT target.
func (r *run) queueEmpty(target float64) bool {
	q, rate := r.obs.QueueDepth, r.obs.RequestRate
	if !q.OK || !rate.OK {
		return false
	}
	excess := q.V - float64(r.ready)
	return excess <= 0 || rate.V > 0 && excess/rate.V <= target
}

// clearsBeforeStartup reports whether the ready replicas' spare prefill capacity (at the observed
// arrivals and mean input length, by the performance model) clears a backlog of n requests within
// startup seconds; known is false when the model or the lengths cannot tell.
func (r *run) clearsBeforeStartup(n, rate, startup float64) (clears, known bool) {
	isl := r.obs.InputTokens
	m, ok := r.modelQuiet()
	if !ok || !isl.OK || !(isl.V > 0) || r.ready <= 0 {
		return false, false
	}
	pc, ok := m.Prefill(isl.V, r.dec.GPUsPerReplica)
	if !ok || !(pc.TokensPerSecond > 0) {
		return false, false
	}
	spare := float64(r.ready)*pc.TokensPerSecond - rate*isl.V
	return spare > 0 && n*isl.V/spare <= startup, true
}

// backlogNeed sizes the service with its model at an arrival rate (requests/s) and the observed
// token lengths; false when lengths or the model are missing.
func (r *run) backlogNeed(rate float64) (int32, bool) {
	isl, osl := r.obs.InputTokens, r.obs.OutputTokens
	if !isl.OK || !(isl.V > 0) || !osl.OK || osl.V < 0 {
		return 0, false
	}
	m, ok := r.modelQuiet()
	if !ok {
		return 0, false
	}
	l := Load{RequestRate: rate, InputTokenRate: rate * isl.V, OutputTokenRate: rate * osl.V, InputTokens: isl.V, OutputTokens: osl.V}
	nd := size(m, l, r.sizingFor())
	return nd.replicas, nd.ok && nd.feasible
}

// schedule applies the schedules active now, with policies.Policy.BoundsAt's rule: the highest
// floor and the lowest ceiling among them, and the floor wins should they cross.
func (r *run) schedule() {
	var lo, hi *int32
	var loName, hiName string
	for k := range r.p.NumSchedules() {
		sc := r.p.ScheduleAt(k)
		ov, ok := sc.Override(r.svc.Name)
		if !ok || !sc.ActiveAt(r.now) {
			continue
		}
		if ov.MinReplicas != nil && (lo == nil || *ov.MinReplicas > *lo) {
			lo, loName = ov.MinReplicas, sc.Name
		}
		if ov.MaxReplicas != nil && (hi == nil || *ov.MaxReplicas < *hi) {
			hi, hiName = ov.MaxReplicas, sc.Name
		}
	}
	if hi != nil && r.want > *hi {
		r.add(StepSchedule, CodeScheduleCeiling, r.want, *hi, 0, float64(*hi), hiName)
		r.want = *hi
	}
	if lo != nil && r.want < *lo {
		r.add(StepSchedule, CodeScheduleFloor, r.want, *lo, 0, float64(*lo), loName)
		r.want = *lo
	}
}

// stabilise holds while an earlier scale-up is still starting, applies the cooldowns and lets a
// scale-down through only after the lower need held for the whole window and only if the
// remaining replicas would still meet the SLO at the observed load.
func (r *run) stabilise() {
	s := r.p.Stability
	if r.starting() {
		return
	}
	if r.want > r.cur && s.ScaleUpCooldown > 0 && !r.ss.lastChange.IsZero() {
		if left := s.ScaleUpCooldown - r.now.Sub(r.ss.lastChange); left > 0 {
			r.add(StepStabilise, CodeCooldown, r.want, r.cur, left.Seconds(), s.ScaleUpCooldown.Seconds(), "scale-up")
			r.want = r.cur
		}
	}
	if r.want >= r.cur {
		return
	}
	r.window()
	r.keepIfNeeded()
	if r.want < r.cur && s.ScaleDownCooldown > 0 && !r.ss.lastChange.IsZero() {
		if left := s.ScaleDownCooldown - r.now.Sub(r.ss.lastChange); left > 0 {
			r.add(StepStabilise, CodeCooldown, r.want, r.cur, left.Seconds(), s.ScaleDownCooldown.Seconds(), "scale-down")
			r.want = r.cur
		}
	}
}

// starting reports (and enforces) the hold while a scale-up this planner decided is not ready
// yet, up to the startup timeout: no scale-down, and no scale-up on latency alone (latencies stay
// high until the new replicas serve), but a scale-up to the size step's need when the load grew
// past the count already starting.
func (r *run) starting() bool {
	if !r.known || r.ready >= r.cur || r.ss.lastUp.IsZero() {
		return false
	}
	timeout := r.p.Stability.StartupTimeout
	if r.now.Sub(r.ss.lastUp) >= timeout {
		r.add(StepStabilise, CodeStartupTimeout, r.want, r.want, float64(r.ready), timeout.Seconds(), "")
		return false
	}
	if r.want > r.cur && r.sized > r.cur {
		// The load itself grew past what is starting: add what the model says it needs now (a
		// guard's latency breach is expected while replicas start, and is not acted on).
		next := min(r.want, r.sized)
		if next != r.want {
			r.add(StepStabilise, CodeStarting, r.want, next, float64(r.ready), timeout.Seconds(), "")
		}
		r.want = next
		return true
	}
	if r.want != r.cur {
		r.add(StepStabilise, CodeStarting, r.want, r.cur, float64(r.ready), timeout.Seconds(), "")
		r.want = r.cur
	}
	return true
}

// window keeps the highest need of the scale-down window (no scale-down at all until the history
// covers the whole window).
func (r *run) window() {
	hi, covered := r.ss.highestNeed(r.now, r.p.Stability.ScaleDownWindow)
	next := max(r.want, hi)
	if !covered {
		next = r.cur
	}
	next = min(next, r.cur)
	if next != r.want {
		r.add(StepStabilise, CodeWindow, r.want, next, float64(hi), r.p.Stability.ScaleDownWindow.Seconds(), "")
		r.want = next
	}
}

// keepIfNeeded blocks a scale-down the observed load (without forecast or headroom) says the
// smaller count could not carry within the SLO.
func (r *run) keepIfNeeded() {
	if r.want >= r.cur || r.svc.Role == policies.RoleFrontend && r.svc.RequestsPerSecondPerReplica <= 0 || idle(r.obs) {
		return // idle: no observed load to keep replicas for
	}
	l := r.load
	l.RequestRate = r.obs.RequestRate.V
	l.InputTokenRate, l.OutputTokenRate = l.RequestRate*l.InputTokens, l.RequestRate*l.OutputTokens
	var m Model
	if r.svc.Role != policies.RoleFrontend {
		var ok bool
		if m, ok = r.modelQuiet(); !ok {
			return
		}
	}
	nd := size(m, l, r.sizingFor())
	if nd.ok && nd.replicas > r.want {
		next := min(nd.replicas, r.cur)
		r.add(StepStabilise, CodeSLOBlocksDown, r.want, next, float64(nd.replicas), float64(r.want), "")
		r.want = next
	}
}

// modelQuiet is model without reasons (they were given at the size step).
func (r *run) modelQuiet() (Model, bool) {
	if r.st.hasProfile {
		if !r.p.PerformanceModel.Learn {
			return r.st.profile, true
		}
		return r.st.profile.Calibrated(r.ss.ttftCal.Factor(), r.ss.itlCal.Factor()), true
	}
	if r.p.PerformanceModel.Learn {
		return learnedModel{ttft: &r.ss.ttft, itl: &r.ss.itl, ttftTarget: r.p.SLO.TTFT.Target.Seconds()}, true
	}
	return nil, false
}

// rateLimit bounds the change per decision to maxStepUp / maxStepDown (0 = unbounded).
func (r *run) rateLimit() {
	s := r.p.Stability
	if s.MaxStepUp > 0 && r.want > r.cur+s.MaxStepUp {
		r.add(StepRateLimit, CodeMaxStepUp, r.want, r.cur+s.MaxStepUp, 0, float64(s.MaxStepUp), "")
		r.want = r.cur + s.MaxStepUp
	}
	if s.MaxStepDown > 0 && r.want < r.cur-s.MaxStepDown {
		r.add(StepRateLimit, CodeMaxStepDown, r.want, r.cur-s.MaxStepDown, 0, float64(s.MaxStepDown), "")
		r.want = r.cur - s.MaxStepDown
	}
}
