package planner

import "github.com/tidal-planner/tidal/policies"

// applyBudget cuts the services' desired replicas so their GPUs fit the budget (maxGPUs, 0 =
// unbounded) and returns the shortfall in GPUs. It works on each service's need clamped to its
// [minReplicas, maxReplicas] (the clamp step after it then changes nothing a cut decided). Every
// service first keeps its minReplicas; the remaining GPUs go one replica at a time to the service
// furthest below its need (smallest allocated/wanted ratio, ties to the earlier service), so
// disaggregated prefill and decode are cut in proportion rather than one starving the other.
// Services with 0 GPUs per replica are never cut, nor are services that will not be written
// (replicas unknown, another writer being backed off from): they count with their current
// replicas. When a worker's GPUs per replica are unknown the budget cannot be checked and the
// step holds instead (holdBudget).
func (st *State) applyBudget(p policies.Policy, ds []ServiceDecision) int32 {
	budget := p.Budget.MaxGPUs
	if budget <= 0 {
		return 0
	}
	for i := range ds {
		if st.services[i].gpusUnknown {
			st.holdBudget(p, ds)
			return 0
		}
	}
	var wantBuf, allocBuf [16]int32
	want, alloc := wantBuf[:0], allocBuf[:0]
	if len(ds) > len(wantBuf) {
		want, alloc = make([]int32, 0, len(ds)), make([]int32, 0, len(ds))
	}
	var total, used int32
	for i, d := range ds {
		svc := p.ServiceAt(i)
		w := min(max(d.Desired, svc.MinReplicas), svc.MaxReplicas)
		a := w
		switch {
		case !d.ReplicasKnown || st.services[i].writes.backoff:
			w, a = d.Desired, d.Desired // not written this tick: counted as it stands
		case d.GPUsPerReplica > 0:
			a = min(w, max(svc.MinReplicas, 0))
		}
		want, alloc = append(want, w), append(alloc, a)
		total += w * d.GPUsPerReplica
		used += a * d.GPUsPerReplica
	}
	if total <= budget {
		return 0
	}
	fill(ds, want, alloc, used, budget)
	return st.cut(ds, want, alloc, total, budget)
}

// holdBudget is the budget step when some worker's GPUs per replica are unknown: no service grows
// beyond its current count (or its minimum), scale-downs go ahead, and each capped service says
// why (budget-hold: Value = the budget).
func (st *State) holdBudget(p policies.Policy, ds []ServiceDecision) {
	for i := range ds {
		ceiling := max(ds[i].Current, p.ServiceAt(i).MinReplicas)
		if ds[i].Desired > ceiling {
			st.add(i, Reason{Step: StepBudget, Code: CodeBudgetHold, Before: ds[i].Desired, After: ceiling,
				Limit: float64(p.Budget.MaxGPUs), Note: "a worker's GPUs per replica are unknown"})
			ds[i].Desired = ceiling
		}
	}
}

// fill hands out the GPUs left under the budget one replica at a time, to the service with the
// smallest alloc/want ratio.
func fill(ds []ServiceDecision, want, alloc []int32, used, budget int32) {
	for {
		best := -1
		for i, d := range ds {
			if alloc[i] >= want[i] || used+d.GPUsPerReplica > budget {
				continue
			}
			// alloc[i]/want[i] < alloc[best]/want[best], without division.
			if best < 0 || int64(alloc[i])*int64(want[best]) < int64(alloc[best])*int64(want[i]) {
				best = i
			}
		}
		if best < 0 {
			return
		}
		alloc[best]++
		used += ds[best].GPUsPerReplica
	}
}

// cut applies the allocation, with a budget reason on each service cut, and returns the shortfall.
func (st *State) cut(ds []ServiceDecision, want, alloc []int32, total, budget int32) int32 {
	var short int32
	for i := range ds {
		if alloc[i] >= want[i] {
			continue
		}
		short += (want[i] - alloc[i]) * ds[i].GPUsPerReplica
		st.add(i, Reason{Step: StepBudget, Code: CodeBudgetCut, Before: ds[i].Desired, After: alloc[i],
			Value: float64(total), Limit: float64(budget)})
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
