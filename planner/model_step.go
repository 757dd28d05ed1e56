package planner

import (
	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/policies"
)

// modelQuiet is model without reasons (they were given at the size step).
func (r *run) modelQuiet() (Model, bool) { return r.modelOf(r.ss, r.svc.Role) }

// modelOf is the performance model as a service with state ss and role knows it (its
// calibration, its online fits), without reasons.
func (r *run) modelOf(ss *serviceState, role policies.Role) (Model, bool) {
	if r.st.hasProfile {
		if !r.p.PerformanceModel.Learn {
			return r.st.profile, true
		}
		m := r.calibratedOf(ss, role)
		if r.reachHolds(ss) {
			m = m.WithITLReach(ss.itlReach.Max())
		}
		return m, true
	}
	if r.p.PerformanceModel.Learn {
		return learnedModel{ttft: &ss.ttft, itl: &ss.itl, ttftTarget: r.p.SLO.TTFT.Target.Seconds()}, true
	}
	return nil, false
}

// sizingFor returns the sizing parameters of this service.
func (r *run) sizingFor() sizing {
	e := r.ss.risk.level()
	return sizing{
		role: r.svc.Role, slo: r.p.SLO, gpus: r.dec.GPUsPerReplica,
		variability: variability(r.obs.ArrivalCV) * waitScale(r.svc.Role, e),
		utilisation: utilisation(r.svc.Role, e),
		limit:       int(max(r.svc.MaxReplicas, 1)), rpsPerRep: r.svc.RequestsPerSecondPerReplica,
	}
}

// model returns the performance model for this service (modelOf: the profile, calibrated when
// learning is on, else the online fits, else none), naming it and giving its reasons.
func (r *run) model() (Model, bool) {
	learn := r.p.PerformanceModel.Learn
	switch {
	case r.st.hasProfile:
		r.modelName = r.st.profile.Source()
		if kt, ki := r.ss.ttftCal.Factor(), r.ss.itlCal.Factor(); learn && (kt != 1 || ki != 1) {
			r.add(StepSize, CodeCalibrated, r.cur, r.cur, kt, ki, r.st.profile.Source())
			r.itlPastSeen()
			r.itlReach(ki)
		}
		r.decodeContext()
	case learn:
		r.modelName = "learned online"
		r.add(StepSize, CodeLearnedModel, r.cur, r.cur, float64(r.ss.ttft.Samples()), float64(r.ss.itl.Samples()), "")
	}
	return r.modelQuiet()
}

// calibratedOf is the profile as a service with state ss and role knows it before any
// refutation: calibrated by its factors, its ITL factor bounded past the KV usage it was seen at
// (model.Profile.WithITLSeen). A value, not a Model, so a caller that needs its reasons does not
// box it.
func (r *run) calibratedOf(ss *serviceState, role policies.Role) model.Profile {
	return calibrated(r.profileOf(ss), ss.ttftCal.Factor(), ss.itlCal.Factor(), role).
		WithITLSeen(ss.itlReach.Max())
}

// profileOf is the profile read at the decode batch context a service with state ss measured
// (model.Profile.WithBatchContext): the one place the measured ratio is applied.
func (r *run) profileOf(ss *serviceState) model.Profile {
	return r.st.profile.WithBatchContext(ss.batchCtx.Ratio())
}

// calibrated is the profile with the service's calibration factors, as a shared engine for a
// worker that prefills and decodes (model.Profile.SharedEngine).
func calibrated(p model.Profile, ttft, itl float64, role policies.Role) model.Profile {
	m := p.Calibrated(ttft, itl)
	if role == policies.RoleAggregated {
		m = m.SharedEngine()
	}
	return m
}

// decodeContext says when decode is sized at a measured batch context (model.BatchContext)
// rather than at input + output / 2.
func (r *run) decodeContext() {
	k := r.ss.batchCtx.Ratio()
	if k == 1 || !r.p.PerformanceModel.Learn || !decodes(r.svc.Role) {
		return
	}
	isl, osl := r.load.InputTokens, r.load.OutputTokens
	ctx := r.profileOf(r.ss).Context(isl, osl)
	r.add(StepSize, CodeDecodeContext, r.cur, r.cur, ctx, isl+osl/2, "sized at the decode batch's measured mean context: it holds long outputs longer")
}

// itlPastSeen says when decode's ITL factor below 1 is credited past the KV usage it was seen at
// only along the line through it (model.Profile.WithITLSeen), nearer the profile than the factor
// alone would plan.
func (r *run) itlPastSeen() {
	if !(r.ss.itlCal.Factor() < 1) || !decodes(r.svc.Role) {
		return
	}
	p := r.calibratedOf(r.ss, r.svc.Role)
	if seen, alone, limited := p.ITLPastSeen(r.load.InputTokens, r.load.OutputTokens, r.p.SLO.ITL.Target.Seconds()); limited {
		r.add(StepSize, CodeITLPastSeen, r.cur, r.cur, seen, alone, "a faster engine is credited past the KV usage it was seen at only along the line through it")
	}
}

// itlReach says when an ITL factor ki below 1 is credited only up to the KV usage it was observed
// at (model.Profile.WithITLReach): decode then plans nearer the profile than the factor alone would.
func (r *run) itlReach(ki float64) {
	if !(ki < 1) || !r.reachHolds(r.ss) || !decodes(r.svc.Role) {
		return
	}
	if reach, kv, limited := r.pastReach(ki, r.load.InputTokens, r.load.OutputTokens); limited {
		r.add(StepSize, CodeITLReach, r.cur, r.cur, reach, kv, "the error budget burned with a faster engine credited past where it was seen")
	}
}

// pastReach reports whether ITL factor ki plans this service's decode past the KV usage the
// factor was observed at, for mean lengths isl and osl: the reach and the KV usage planned.
func (r *run) pastReach(ki, isl, osl float64) (reach, kv float64, past bool) {
	p := r.profileOf(r.ss).Calibrated(1, ki).WithITLReach(r.ss.itlReach.Max())
	return p.ITLReachLimits(isl, osl, r.p.SLO.ITL.Target.Seconds())
}

// reachHolds reports whether a service's ITL factor is credited only up to its reach: within the
// objective window after its error budget burned while the factor planned past the reach
// (refuteReach). Until then the factor is a hypothesis the service has no evidence against.
func (r *run) reachHolds(ss *serviceState) bool {
	return !ss.refuted.IsZero() && r.now.Sub(ss.refuted) < r.p.SLO.ObjectiveWindow
}

// refuteReach records, when this interval tightened the error budget of a service that decodes
// (decode: its ITL misses; aggregated: its TTFT and ITL misses) with an ITL factor below 1
// planning past its reach, that the factor's extrapolation was wrong: the service then plans
// within its reach for the objective window (reachHolds).
func (r *run) refuteReach(tightened bool) {
	if !tightened || !decodes(r.svc.Role) || !r.st.hasProfile || !r.p.PerformanceModel.Learn {
		return
	}
	ki := r.ss.itlCal.Factor()
	if !(ki < 1) || !r.obs.InputTokens.OK || !r.obs.OutputTokens.OK {
		return
	}
	if _, _, past := r.pastReach(ki, r.obs.InputTokens.V, r.obs.OutputTokens.V); past {
		r.ss.refuted = r.now
	}
}

// decodes reports whether a role runs decode (its ITL is the service's).
func decodes(role policies.Role) bool {
	return role == policies.RoleDecode || role == policies.RoleAggregated
}

// prefills reports whether a role runs prefill through the queue model (its TTFT is the service's).
func prefills(role policies.Role) bool {
	return role == policies.RolePrefill || role == policies.RoleAggregated
}
