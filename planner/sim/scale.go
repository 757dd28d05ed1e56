package sim

import (
	"cmp"
	"slices"
	"time"
)

// addEngine creates a replica of service s in the given state and starts charging its GPUs.
func (w *world) addEngine(s int, state replicaState) int32 {
	id := int32(len(w.engines))
	e := newEngine(s, w.svcs[s].cfg.Role, state, w.t)
	w.engines = append(w.engines, e)
	w.svcs[s].engines = append(w.svcs[s].engines, id)
	w.chargeGPUs()
	w.gpus += float64(w.svcs[s].cfg.GPUsPerReplica)
	w.acct.svcGPUs[s] += float64(w.svcs[s].cfg.GPUsPerReplica)
	if state == stateStarting {
		w.schedule(w.t+w.svcs[s].cfg.StartupTime.Seconds(), id, evReady, 0)
	}
	return id
}

// release stops charging a replica's GPUs and forgets it.
func (w *world) release(id int32) {
	e := w.engines[id]
	s := &w.svcs[e.svc]
	w.chargeGPUs()
	w.gpus -= float64(s.cfg.GPUsPerReplica)
	w.acct.svcGPUs[e.svc] -= float64(s.cfg.GPUsPerReplica)
	e.state = stateGone
	s.engines = slices.DeleteFunc(s.engines, func(x int32) bool { return x == id })
}

// chargeGPUs accrues GPU-seconds up to now.
func (w *world) chargeGPUs() {
	w.gpuSeconds += w.gpus * (w.t - w.lastGPUChange)
	w.acct.charge(w.t - w.lastGPUChange)
	w.lastGPUChange = w.t
}

// retireIfDrained releases a draining replica once it has no work left.
func (w *world) retireIfDrained(id int32, e *engine) {
	if e.state == stateDraining && e.idle() {
		w.release(id)
	}
}

// setReplicas moves service s towards want replicas (clamped to its bounds): new replicas start
// (and cost GPUs) now; a scale-down cancels starting replicas first, newest first, then drains the
// least-loaded ready ones. One ready replica always stays.
func (w *world) setReplicas(s int, want int) {
	st := &w.svcs[s]
	want = min(max(want, st.cfg.MinReplicas, 1), st.cfg.MaxReplicas)
	if want != st.desired {
		w.scaleEvents++
		w.acct.svcEvents[s]++
		st.desired = want
	}
	var starting, ready []int32
	for _, id := range st.engines {
		switch w.engines[id].state {
		case stateStarting:
			starting = append(starting, id)
		case stateReady:
			ready = append(ready, id)
		}
	}
	live := len(starting) + len(ready)
	for ; live < want; live++ {
		w.addEngine(s, stateStarting)
	}
	for i := len(starting) - 1; i >= 0 && live > want; i-- {
		w.release(starting[i])
		live--
	}
	load := func(id int32) float64 { return w.engines[id].arrivalLoad() }
	slices.SortStableFunc(ready, func(a, b int32) int { return cmp.Compare(load(a), load(b)) })
	for i := 0; live > want && len(ready)-i > 1; i++ {
		e := w.engines[ready[i]]
		e.state = stateDraining
		w.retireIfDrained(ready[i], e)
		live--
	}
}

// tick is one scrape: the observer closes its interval, and on the autoscaler's cadence the
// autoscaler sees the observations and its decision is applied.
func (w *world) tick() {
	w.obs.scrape(w.t)
	if w.t > w.horizon || w.t < w.nextDecision-1e-9 {
		return
	}
	w.nextDecision += w.cad.Interval.Seconds()
	now := w.opt.Epoch.Add(time.Duration(w.t * float64(time.Second)))
	want := w.as.Scale(now, w.obs.observations(w.t, now))
	for i := range w.svcs {
		if n, ok := want[w.svcs[i].cfg.Name]; ok {
			w.setReplicas(i, int(n))
		}
	}
}

// counts returns service s's replicas that are live (starting or ready) and ready.
func (w *world) counts(s int) (live, ready int) {
	for _, id := range w.svcs[s].engines {
		switch w.engines[id].state {
		case stateStarting:
			live++
		case stateReady:
			live++
			ready++
		}
	}
	return live, ready
}
