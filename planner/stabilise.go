package planner

import (
	"github.com/tidal-planner/tidal/policies"
)

// stabilise holds while an earlier scale-up is still starting, applies the cooldowns and lets a
// scale-down through only after the lower need held for the whole window, only if the remaining
// replicas would still meet the SLO at the observed load, and not to a count that burned the
// error budget in a cycle (burned.go, which it first tells of this interval's burn).
func (r *run) stabilise() {
	s := r.p.Stability
	r.markBurn()
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
	r.keepBurned()
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
	starting, timedOut := r.scaleUpStarting()
	timeout := r.p.Stability.StartupTimeout
	if timedOut {
		r.add(StepStabilise, CodeStartupTimeout, r.want, r.want, float64(r.ready), timeout.Seconds(), "")
	}
	if !starting {
		return r.drained()
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

// drained holds the count for the interval whose metrics window reaches back to this planner's
// scale-up still starting, when requests in flight fell over it: its completions count the
// backlog the start left (the arrivals estimate reads part of the drain as load: PromQL's rate()
// extrapolates the window's samples, the in-flight gauge is read at its scrapes) and its
// latencies the queue, neither of which more replicas, ready minutes later, would meet. The next
// interval reads the load and latencies as they are. A load still growing keeps requests in
// flight growing too, and is not held.
func (r *run) drained() bool {
	if !r.draining || !r.stillInWindow(r.ss.startingSeen) || r.want == r.cur {
		return false
	}
	r.add(StepStabilise, CodeDrained, r.want, r.cur, float64(r.ready), r.p.Metrics.Window.Seconds(), "")
	r.want = r.cur
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
// smaller count could not carry within the SLO, and one that clears by less than the policy's
// scale-down tolerance the highest load planned for over the scale-down window: scaling up is
// immediate and scaling down is not, so without a margin a load that hovers at a count boundary
// crosses it back and forth (the Kubernetes HPA's tolerance band). The margin is taken over the
// window's highest load rather than the current one because a minute's load is noisy: where it
// swings by more than the tolerance, a count chosen at a quiet minute was needed again the next
// (on the built-in day's slow world, 7 scale-downs reversed within two minutes, docs/planner.md).
func (r *run) keepIfNeeded() {
	z := r.sizingFor()
	r.keepFor(r.observedLoad(), z, CodeSLOBlocksDown, float64(r.want))
	if t := r.p.Stability.ScaleDownTolerance; t > 0 {
		r.keepFor(r.ss.highestLoad(r.load).scaled(1+t), z, CodeTolerance, t)
	}
	r.keepForObjective(z)
}

// keepForObjective blocks a prefill scale-down the smaller count would make at the objective's
// percentile. The check above sizes at the SLO's percentile with the queue term the error budget
// scaled, which at the budget's loosest level credits one prefill replica with twice what it
// carries at 99% (docs/planner.md, the queue model count by count), so the built-in day's night
// tried 2 -> 1, burned, and came back. Here the remaining replicas must keep the objective's
// fraction of TTFTs within the target, the queue term unscaled, at the observed load discounted
// by the scale-down tolerance (the check binds only where the two percentiles disagree by more).
// Arrivals are taken as Poisson here: the measured arrival CV enters the queue term squared, and
// over a window that holds a burst it reads the burst's variability as the steady state's (a
// 40-second burst held 4 prefill replicas for an hour where 2 had carried the same load before
// it, docs/planner.md (17)); the reserve and the guards answer burstiness.
// z is the service's sizing, which the check changes to the objective's percentile.
func (r *run) keepForObjective(z sizing) {
	role, pct := r.svc.Role, r.p.SLO.Objective*100
	if role == policies.RoleDecode || role == policies.RoleFrontend || !(pct > r.p.SLO.TTFT.Percentile) {
		return
	}
	z.slo.TTFT.Percentile, z.variability = pct, variability(Known(1))
	l := r.observedLoad().scaled(1 / (1 + max(r.p.Stability.ScaleDownTolerance, 0)))
	r.keepFor(l, z, CodeObjectiveBlocks, r.p.SLO.Objective)
}

// scaled is the load with its rates (requests and tokens per second) multiplied by f.
func (l Load) scaled(f float64) Load {
	l.RequestRate, l.InputTokenRate, l.OutputTokenRate = l.RequestRate*f, l.InputTokenRate*f, l.OutputTokenRate*f
	return l
}

// keepFor holds a scale-down at the count load l needs with sizing z, never above the current
// one, and says so with code (Value = that count, Limit = limit).
func (r *run) keepFor(l Load, z sizing, code Code, limit float64) {
	if r.want >= r.cur {
		return
	}
	n, ok := r.needWith(l, z)
	if !ok || n <= r.want {
		return
	}
	next := min(n, r.cur)
	r.add(StepStabilise, code, r.want, next, float64(n), limit, "")
	r.want = next
}

// needAt is the replicas load l needs within the SLO at this service's sizing (needWith).
func (r *run) needAt(l Load) (int32, bool) { return r.needWith(l, r.sizingFor()) }

// needWith is the replicas load l needs with sizing z; false when there is no load to size (idle,
// or a frontend without a per-replica rate) or no model.
func (r *run) needWith(l Load, z sizing) (int32, bool) {
	if r.svc.Role == policies.RoleFrontend && r.svc.RequestsPerSecondPerReplica <= 0 || idle(r.obs) {
		return 0, false // idle: no observed load to keep replicas for
	}
	var m Model
	if r.svc.Role != policies.RoleFrontend {
		var ok bool
		if m, ok = r.modelQuiet(); !ok {
			return 0, false
		}
	}
	nd := size(m, l, z)
	return nd.replicas, nd.ok
}

// observedLoad is the load as observed now: the observed request rate at the token lengths sized
// for, without forecast, reserve or headroom.
func (r *run) observedLoad() Load {
	l := r.load
	l.RequestRate = r.obs.RequestRate.V
	l.InputTokenRate, l.OutputTokenRate = l.RequestRate*l.InputTokens, l.RequestRate*l.OutputTokens
	return l
}

// scaleUpStarting reports whether a scale-up this planner decided is not ready yet: the cluster
// was read, fewer replicas are ready than requested, and the last scale-up is within the startup
// timeout. timedOut says it would be but for the timeout (replicas that never became ready are
// not starting). The stabilise step's hold and the error budget's read it alike.
func (r *run) scaleUpStarting() (starting, timedOut bool) {
	if !r.known || r.ready >= r.cur || r.ss.lastUp.IsZero() {
		return false, false
	}
	if r.now.Sub(r.ss.lastUp) >= r.p.Stability.StartupTimeout {
		return false, true
	}
	return true, false
}
