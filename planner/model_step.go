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
		return calibrated(r.st.profile, ss.ttftCal.Factor(), ss.itlCal.Factor(), role).WithITLReach(ss.itlReach.Max()), true
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
			r.itlReach(ki)
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

// itlReach says when an ITL factor ki below 1 is credited only up to the KV usage it was observed
// at (model.Profile.WithITLReach): decode then plans nearer the profile than the factor alone would.
func (r *run) itlReach(ki float64) {
	if !(ki < 1) || r.svc.Role == policies.RolePrefill || r.svc.Role == policies.RoleFrontend {
		return
	}
	p := r.st.profile.Calibrated(1, ki).WithITLReach(r.ss.itlReach.Max())
	if reach, kv, limited := p.ITLReachLimits(r.load.InputTokens, r.load.OutputTokens, r.p.SLO.ITL.Target.Seconds()); limited {
		r.add(StepSize, CodeITLReach, r.cur, r.cur, reach, kv, "a faster engine is credited only as far as it was seen")
	}
}
