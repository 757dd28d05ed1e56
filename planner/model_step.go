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
		return calibrated(r.st.profile, ss.ttftCal.Factor(), ss.itlCal.Factor(), role).WithITLSeen(ss.itlReach.Max()), true
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
		}
	case learn:
		r.modelName = "learned online"
		r.add(StepSize, CodeLearnedModel, r.cur, r.cur, float64(r.ss.ttft.Samples()), float64(r.ss.itl.Samples()), "")
	}
	return r.modelQuiet()
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

// itlPastSeen says when decode's ITL factor below 1 is credited past the KV usage it was seen at
// only along the line through it (model.Profile.WithITLSeen), nearer the profile than the factor
// alone would plan.
func (r *run) itlPastSeen() {
	ki := r.ss.itlCal.Factor()
	if !(ki < 1) || !decodes(r.svc.Role) {
		return
	}
	p := calibrated(r.st.profile, r.ss.ttftCal.Factor(), ki, r.svc.Role).WithITLSeen(r.ss.itlReach.Max())
	if seen, alone, limited := p.ITLPastSeen(r.load.InputTokens, r.load.OutputTokens, r.p.SLO.ITL.Target.Seconds()); limited {
		r.add(StepSize, CodeITLPastSeen, r.cur, r.cur, seen, alone, "a faster engine is credited past the KV usage it was seen at only along the line through it")
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
