package planner

import "github.com/tidal-planner/tidal/policies"

// size turns the load into a replica need, or holds when data or a model is missing.
func (r *run) size() {
	if r.held {
		r.add(StepSize, CodeHold, r.cur, r.cur, 0, 0, "missing observations")
		return
	}
	var m Model
	r.modelName = "requestsPerSecondPerReplica"
	if r.svc.Role != policies.RoleFrontend {
		var ok bool
		if m, ok = r.model(); !ok {
			r.hold(CodeNoModel)
			return
		}
	}
	if r.load.RequestRate <= 0 {
		r.want = 0
		r.add(StepSize, CodeNoTraffic, r.cur, 0, 0, 0, "")
		return
	}
	nd := size(m, r.load, r.sizingFor())
	if !nd.ok {
		r.hold(CodeNoModel)
		return
	}
	r.want, r.dec.Need = nd.replicas, nd.raw
	r.sized = nd.replicas
	r.add(StepSize, CodeSized, r.cur, r.want, nd.raw, nd.capacity, r.modelName)
	r.saturationFloor(m)
	if !nd.feasible {
		r.add(StepSize, CodeInfeasible, r.want, r.want, 0, 0, "")
	}
	if r.want > r.svc.MaxReplicas {
		r.add(StepSize, CodeNeedAboveMax, r.want, r.want, float64(r.want), float64(r.svc.MaxReplicas), "")
	}
}

func (r *run) hold(code Code) {
	r.held = true
	r.add(StepSize, code, r.cur, r.cur, 0, 0, "")
}
