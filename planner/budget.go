package planner

import "github.com/tidal-planner/tidal/policies"

// applyBudget cuts the services' desired replicas so their GPUs fit the budget (maxGPUs, 0 =
// unbounded) and returns the shortfall in GPUs. Every service first keeps its minReplicas; the
// remaining GPUs go one replica at a time to the service furthest below its need (smallest
// allocated/desired ratio, ties to the earlier service), so disaggregated prefill and decode are
// cut in proportion rather than one starving the other. Services with 0 GPUs are never cut.
func (st *State) applyBudget(p policies.Policy, ds []ServiceDecision) int32 {
	budget := p.Budget.MaxGPUs
	if budget <= 0 || totalGPUs(ds) <= budget {
		return 0
	}
	var stack [16]int32
	alloc := stack[:0]
	if len(ds) > len(stack) {
		alloc = make([]int32, 0, len(ds))
	}
	var used int32
	for i, d := range ds {
		a := d.Desired
		if d.GPUsPerReplica > 0 {
			a = min(d.Desired, max(p.ServiceAt(i).MinReplicas, 0))
		}
		alloc = append(alloc, a)
		used += a * d.GPUsPerReplica
	}
	for {
		best := -1
		for i, d := range ds {
			if alloc[i] >= d.Desired || used+d.GPUsPerReplica > budget {
				continue
			}
			// alloc[i]/d.Desired < alloc[best]/ds[best].Desired, without division.
			if best < 0 || int64(alloc[i])*int64(ds[best].Desired) < int64(alloc[best])*int64(d.Desired) {
				best = i
			}
		}
		if best < 0 {
			break
		}
		alloc[best]++
		used += ds[best].GPUsPerReplica
	}
	return st.cut(ds, alloc, budget)
}

// cut applies the allocation, with a budget reason on each service cut, and returns the shortfall.
func (st *State) cut(ds []ServiceDecision, alloc []int32, budget int32) int32 {
	wanted := totalGPUs(ds)
	var short int32
	for i := range ds {
		if alloc[i] >= ds[i].Desired {
			continue
		}
		short += (ds[i].Desired - alloc[i]) * ds[i].GPUsPerReplica
		st.add(i, Reason{Step: StepBudget, Code: CodeBudgetCut, Before: ds[i].Desired, After: alloc[i],
			Value: float64(wanted), Limit: float64(budget)})
		ds[i].Desired = alloc[i]
	}
	return short
}

// clamp applies the service's minReplicas and maxReplicas, last, so they always win.
func (st *State) clamp(svc policies.Service, d *ServiceDecision, i int) {
	if d.Desired < svc.MinReplicas {
		st.add(i, Reason{Step: StepClamp, Code: CodeMin, Before: d.Desired, After: svc.MinReplicas, Limit: float64(svc.MinReplicas)})
		d.Desired = svc.MinReplicas
	}
	if d.Desired > svc.MaxReplicas {
		st.add(i, Reason{Step: StepClamp, Code: CodeMax, Before: d.Desired, After: svc.MaxReplicas, Limit: float64(svc.MaxReplicas)})
		d.Desired = svc.MaxReplicas
	}
}
