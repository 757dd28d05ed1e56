package compete

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/policies"
)

// HPA constants, from the Kubernetes HorizontalPodAutoscaler documentation and controller
// defaults: 15 s sync period, 10% tolerance, 300 s scale-down stabilisation, and the default
// scale-up policy (double, or add 4 pods, per 15 s, whichever is more).
const (
	HPASyncPeriod      = 15 * time.Second
	HPATolerance       = 0.1
	HPAScaleDownWindow = 300 * time.Second
)

// Reactive is an HPA/KEDA-style threshold scaler. Prefill (and aggregated) services scale on the
// queue depth (requests waiting for their first token) against QueuePerReplica, as a KEDA
// Prometheus trigger with an AverageValue target does; decode services scale on their mean
// KV-cache usage against KVUsageTarget, as a utilisation target does. Both use the HPA's formula
// desired = ceil(current x metric / target), skip changes within the 10% tolerance, scale up at
// most max(2 x current, current + 4) per sync, and scale down to the highest recommendation of the
// last 300 s (the first call counts the current replicas as a recommendation, as a running HPA
// would have).
type Reactive struct {
	Deployment      sim.Deployment
	QueuePerReplica float64
	KVUsageTarget   float64

	history map[string][]recommendation
}

type recommendation struct {
	t time.Time
	n int32
}

// Cadence implements sim.Autoscaler: the HPA sync period, reading instant gauges.
func (r *Reactive) Cadence() sim.Cadence {
	return sim.Cadence{Interval: HPASyncPeriod, Window: HPASyncPeriod}
}

// Scale implements sim.Autoscaler.
func (r *Reactive) Scale(now time.Time, obs planner.Observations) map[string]int32 {
	if r.history == nil {
		r.history = map[string][]recommendation{}
	}
	out := map[string]int32{}
	for _, svc := range r.Deployment.Services {
		so, ok := obs.Service(svc.Name)
		if !ok || !so.ReplicasKnown {
			continue
		}
		cur := float64(max(so.Desired, 1))
		if _, seen := r.history[svc.Name]; !seen {
			// An HPA that has been running holds the current count among its recommendations:
			// start as if it had, so the warm start is not undone in the first sync.
			r.history[svc.Name] = []recommendation{{t: now, n: so.Desired}}
		}
		var ratio float64
		switch {
		case svc.Role == policies.RoleDecode && so.KVUsage.OK:
			ratio = so.KVUsage.V / r.KVUsageTarget
		case svc.Role != policies.RoleDecode && obs.QueueDepth.OK:
			ratio = obs.QueueDepth.V / (r.QueuePerReplica * cur)
		default:
			continue // no data: hold
		}
		want := cur
		if math.Abs(ratio-1) > HPATolerance {
			want = math.Ceil(cur * ratio)
		}
		want = min(want, max(2*cur, cur+4))
		out[svc.Name] = r.stabilise(now, svc, clampReplicas(want, svc))
	}
	return out
}

// stabilise records a recommendation and returns the highest one of the scale-down window.
func (r *Reactive) stabilise(now time.Time, svc sim.Service, n int32) int32 {
	h := append(r.history[svc.Name], recommendation{t: now, n: n})
	keep := h[:0]
	best := n
	for _, x := range h {
		if now.Sub(x.t) <= HPAScaleDownWindow {
			keep = append(keep, x)
			best = max(best, x.n)
		}
	}
	r.history[svc.Name] = keep
	return best
}
