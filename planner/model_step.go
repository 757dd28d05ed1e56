package planner

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

// sizingFor returns the sizing parameters of this service.
func (r *run) sizingFor() sizing {
	return sizing{
		role: r.svc.Role, slo: r.p.SLO, gpus: r.dec.GPUsPerReplica,
		variability: variability(r.obs.ArrivalCV) * waitScale(r.ss.risk.level()),
		utilisation: utilisation(r.svc.Role, r.ss.risk.level()),
		limit:       int(max(r.svc.MaxReplicas, 1)), rpsPerRep: r.svc.RequestsPerSecondPerReplica,
	}
}

// model returns the performance model for this service: the profile (calibrated when learning is
// on), else the online fits, else none.
func (r *run) model() (Model, bool) {
	learn := r.p.PerformanceModel.Learn
	if r.st.hasProfile {
		if !learn {
			r.modelName = r.st.profile.Source()
			return r.st.profile, true
		}
		r.modelName = r.st.profile.Source()
		kt, ki := r.ss.ttftCal.Factor(), r.ss.itlCal.Factor()
		if kt != 1 || ki != 1 {
			r.add(StepSize, CodeCalibrated, r.cur, r.cur, kt, ki, r.st.profile.Source())
		}
		return r.st.profile.Calibrated(kt, ki), true
	}
	if learn {
		r.modelName = "learned online"
		r.add(StepSize, CodeLearnedModel, r.cur, r.cur, float64(r.ss.ttft.Samples()), float64(r.ss.itl.Samples()), "")
		return learnedModel{ttft: &r.ss.ttft, itl: &r.ss.itl, ttftTarget: r.p.SLO.TTFT.Target.Seconds()}, true
	}
	return nil, false
}
