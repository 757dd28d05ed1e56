package planner

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/policies"
)

// observe reads the service's replica counts and GPU size and checks the signals sizing needs.
func (r *run) observe() {
	r.dec.Name, r.dec.Role = r.svc.Name, r.svc.Role
	r.ss.gpusUnknown = false
	so, found := r.obs.Service(r.svc.Name)
	r.known = found && so.ReplicasKnown && so.Desired >= 0 && so.Ready >= 0
	switch {
	case r.known:
		r.cur, r.ready = so.Desired, so.Ready
	case r.ss.decided:
		r.cur = r.ss.last
	default:
		r.cur = r.svc.MinReplicas
	}
	if !r.known {
		r.held = true
		r.add(StepObserve, CodeReplicasUnknown, r.cur, r.cur, 0, 0, "cluster replica counts unavailable")
	} else {
		r.otherWriter(r.cur)
	}
	r.dec.Current, r.dec.Ready, r.want = r.cur, r.ready, r.cur
	if r.known && r.ready != r.cur {
		r.ss.unreadySeen, r.ss.drainPending = r.now, true
	}
	r.dec.ReplicasKnown = r.known
	r.dec.GPUsPerReplica = r.gpus(so)
	r.checkSignal(policies.SignalRequestRate, r.obs.RequestRate)
	if r.svc.Role == policies.RoleFrontend {
		return
	}
	if idle(r.obs) {
		// Requests were counted and none arrived: the mean lengths are 0/0, which is no reason to
		// hold. forecast holds after all if it still expects load it would need them for.
		if !r.obs.InputTokens.OK || !r.obs.OutputTokens.OK {
			r.add(StepObserve, CodeNoTraffic, r.cur, r.cur, 0, 0, "no requests in the window: token lengths not needed")
		}
		return
	}
	r.checkSignal(policies.SignalInputTokens, r.obs.InputTokens)
	r.checkSignal(policies.SignalOutputTokens, r.obs.OutputTokens)
}

// stillInWindow reports whether the metrics window read this interval reaches back to t (an
// interval whose replicas were not all serving, or this planner's scale-up still starting: the
// marks in serviceState): its latencies and misses are that time's.
func (r *run) stillInWindow(t time.Time) bool {
	return !t.IsZero() && r.now.Sub(t) <= r.p.Metrics.Window
}

// idle reports real zero load: the request rate is known (the adapter checked its window) and 0.
// Missing data is never idle.
func idle(o Observations) bool { return o.RequestRate.OK && o.RequestRate.V == 0 }

func (r *run) checkSignal(s policies.Signal, v Value) {
	if v.OK && v.V >= 0 && !math.IsInf(v.V, 1) {
		return
	}
	r.held = true
	why := v.Missing
	if v.OK {
		why = "negative or non-finite value"
	}
	r.add(StepObserve, CodeMissing, r.cur, r.cur, 0, 0, string(s)+": "+why)
}

// gpus is the GPUs one replica counts against the budget: the policy's, else the DGD's (read
// this tick, else the last figure read), else 0 for a frontend. A worker whose figure was never
// read counts 0 with a gpus-unknown reason, and the budget step then holds (budget.go): a
// made-up figure would skew every service's share.
func (r *run) gpus(so ServiceObservation) int32 {
	switch {
	case r.svc.GPUsPerReplica > 0:
		return r.svc.GPUsPerReplica
	case so.GPUsPerReplica > 0:
		r.ss.gpus = so.GPUsPerReplica
		return so.GPUsPerReplica
	case r.ss.gpus > 0:
		return r.ss.gpus
	case r.svc.Role == policies.RoleFrontend:
		return 0
	}
	r.add(StepObserve, CodeGPUsUnknown, r.cur, r.cur, 0, 0, "")
	r.ss.gpusUnknown = true
	return 0
}
