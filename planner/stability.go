package planner

import (
	"math"

	"github.com/tidal-planner/tidal/policies"
)

// maxGuardFactor caps one reactive scale-up at this multiple of the ready replicas; the rate
// limit then applies as usual.
const maxGuardFactor = 2.0

// guard scales up now when observed latencies or the queue already breach the SLO, by the
// observed deficit: ceil(ready x observed/target), capped at maxGuardFactor x ready and at least
// one more than ready. It runs on still-valid signals even when sizing held.
func (r *run) guard() {
	role := r.svc.Role
	if role == policies.RoleFrontend {
		return
	}
	ratio, code, obsV, target := 1.0, Code(""), 0.0, 0.0
	consider := func(c Code, v Value, t float64) {
		if v.OK && t > 0 && v.V > t && v.V/t > ratio {
			ratio, code, obsV, target = v.V/t, c, v.V, t
		}
	}
	ttft, itl := r.p.SLO.TTFT.Target.Seconds(), r.p.SLO.ITL.Target.Seconds()
	if role != policies.RoleDecode {
		consider(CodeTTFTBreach, r.obs.TTFTPercentile, ttft)
		if q, rate := r.obs.QueueDepth, r.obs.RequestRate; q.OK && rate.OK && rate.V > 0 {
			consider(CodeQueueBreach, Known(q.V/rate.V), ttft) // Little's law: wait = queue / rate
		}
	}
	if role != policies.RolePrefill {
		consider(CodeITLBreach, r.obs.ITLPercentile, itl)
	}
	if code == "" {
		return
	}
	base := max(r.ready, 1)
	g := max(int32(math.Ceil(float64(base)*min(ratio, maxGuardFactor))), base+1)
	if g > r.want {
		r.add(StepGuard, code, r.want, g, obsV, target, "")
		r.want = g
	}
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
// yet, up to the startup timeout.
func (r *run) starting() bool {
	if !r.known || r.ready >= r.cur || r.ss.lastUp.IsZero() {
		return false
	}
	timeout := r.p.Stability.StartupTimeout
	if r.now.Sub(r.ss.lastUp) >= timeout {
		r.add(StepStabilise, CodeStartupTimeout, r.want, r.want, float64(r.ready), timeout.Seconds(), "")
		return false
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
	if r.want >= r.cur || r.svc.Role == policies.RoleFrontend && r.svc.RequestsPerSecondPerReplica <= 0 {
		return
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
