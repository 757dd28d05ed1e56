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
// too: the windowed percentile still shows a burst the queue gauge says is gone, while service or
// batching delay, which more replicas do shorten, persists.
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
			best = best.or(r.unlessUnresponsive(breach, &r.ss.latencyMarks[0], &r.ss.ttft, r.obs.InputTokens.V))
		}
	}
	if role != policies.RolePrefill {
		best = best.or(r.unlessUnresponsive(r.latencyAsk(CodeITLBreach, r.obs.ITLPercentile, itl), &r.ss.latencyMarks[1], &r.ss.itl, r.obs.OutputTokens.V))
		best = best.or(r.deliveryAsk(ttft))
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
// the ready replicas' spare capacity (spareRate) clears it before a replica started now could
// serve: new replicas would arrive after the backlog is gone, and the size step already covers the
// arrivals. Otherwise the ask is sized as a backlog to clear, not as extra arrival rate: the
// replicas the model says carry rate + excess / startup, or, when arrivals outrun the ready
// replicas (spare s < 0), rate + (excess - s x startup) / interval: the backlog as it will be when
// the new replicas serve, cleared within one planning interval of that. Without a usable model it
// is ceil(ready x wait/target), as for latencies.
func (r *run) queueGuard(target float64) (ask guardAsk, judged bool) {
	excess, wait, ok := r.backlog()
	rate := r.obs.RequestRate.V
	if !ok || !(rate > 0) || target <= 0 {
		return guardAsk{}, false
	}
	if !(wait > target) {
		return guardAsk{}, false // no backlog: a TTFT breach is service or batching delay
	}
	startup := r.startupHorizon(target)
	spare, known := r.spareRate(rate)
	if known && drainsWithin(excess, spare, startup) {
		return guardAsk{}, true
	}
	ask = guardAsk{code: CodeQueueBreach, value: wait, limit: target}
	if known {
		drain, note := excess/startup, "sized to clear the backlog over one startup time"
		if spare < 0 {
			// Arrivals outrun the ready replicas: the backlog grows until the new ones serve,
			// and every request behind it misses. Clear what it will be by then within one
			// interval of their serving.
			drain = (excess - spare*startup) / max(r.p.Planning.Interval.Seconds(), target)
			note = "sized to clear, within one interval of serving, the backlog grown by then"
		}
		if g, ok := r.backlogNeed(rate + drain); ok {
			if g <= r.ready {
				return guardAsk{}, true
			}
			ask.want, ask.note = g, note
			return ask, true
		}
	}
	ask.want = r.ratioAsk(wait / target)
	return ask, false
}

// queueEmpty reports whether the queue gauge reads no backlog: known, with the excess over the
// ready replicas' Little's-law wait within the TTFT target.
func (r *run) queueEmpty(target float64) bool {
	_, wait, ok := r.backlog()
	return ok && wait <= target
}

// backlog reads the queue gauge, which counts every request without its first token, those
// being prefilled included: one request per ready replica is taken as in service and the excess
// as waiting, with its Little's-law wait at the request rate (0 without an excess, +Inf for an
// excess at zero rate). ok is false when the gauge or the rate is missing.
func (r *run) backlog() (excess, wait float64, ok bool) { return r.backlogOver(r.ready) }

// backlogOver is backlog with ready prefill replicas taken as in service (a decode service reads
// the prefill services' backlog, guard_delivery.go).
func (r *run) backlogOver(ready int32) (excess, wait float64, ok bool) {
	q, rate := r.obs.QueueDepth, r.obs.RequestRate
	if !q.OK || !rate.OK {
		return 0, 0, false
	}
	excess = q.V - float64(ready)
	switch {
	case excess <= 0:
	case rate.V > 0:
		wait = excess / rate.V
	default:
		wait = math.Inf(1)
	}
	return excess, wait, true
}

// spareRate is the ready replicas' spare prefill capacity at the observed arrivals, in requests
// per second, by the performance model at the observed mean input length: negative when arrivals
// outrun them (the backlog grows at that rate). known is false when the model or the lengths
// cannot tell.
func (r *run) spareRate(rate float64) (spare float64, known bool) {
	isl := r.obs.InputTokens
	m, ok := r.modelQuiet()
	if !ok || !isl.OK || r.ready <= 0 {
		return 0, false
	}
	per, ok := prefillRate(m, isl.V, r.dec.GPUsPerReplica)
	if !ok {
		return 0, false
	}
	return float64(r.ready)*per - rate, true
}

// prefillRate is the requests per second one replica prefills by model m at a mean input length
// of isl tokens; false when the length or the model cannot tell.
func prefillRate(m Model, isl float64, gpus int32) (float64, bool) {
	if !(isl > 0) {
		return 0, false
	}
	pc, ok := m.Prefill(isl, gpus)
	if !ok || !(pc.TokensPerSecond > 0) {
		return 0, false
	}
	return pc.TokensPerSecond / isl, true
}

// drainsWithin reports whether a backlog drains within horizon seconds at a spare capacity (the
// same units per second): never without spare capacity.
func drainsWithin(backlog, spare, horizon float64) bool {
	return spare > 0 && backlog/spare <= horizon
}

// startupHorizon is how long a backlog may take to clear before a replica asked for now would
// serve: the service's startup time, at least one planning interval and the TTFT target.
func (r *run) startupHorizon(target float64) float64 {
	return max(r.svc.StartupTime.Seconds(), r.p.Planning.Interval.Seconds(), target)
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
