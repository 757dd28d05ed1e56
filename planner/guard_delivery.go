package planner

import (
	"github.com/tidal-planner/tidal/policies"
)

// deliveryAsk sizes a decode service for the flush a prefill backlog sends it. While requests
// wait for prefill, decode sees only what prefill finishes; once prefill catches up (the queue
// guard has asked for the replicas that clear the backlog), the waiting requests reach decode
// together, and a decode service sized for the arrival rate meets them with every sequence of its
// overloaded batch missing the ITL. The flush adds at most the backlog's excess sequences at once:
// as an arrival rate over one decode residence time (output tokens x ITL target, Little's law),
// excess / residence, and never faster than prefill can deliver: the prefill services' capacity
// at their requested counts (by the prefill service's own calibrated model: its service rate, one
// request at a time per replica, a lower bound on a batching engine). Decode is sized at min(rate + excess / residence, that capacity). No ask
// when the queue gauge, the rate, the lengths or a prefill count is unknown, when the backlog's
// Little's-law wait is within the TTFT target, or when the ready prefill replicas' spare capacity
// flushes it within a decode replica's startup: a replica asked for now would serve after the
// flush (the queue guard's rule, spareRate and drainsWithin).
func (r *run) deliveryAsk(target float64) guardAsk {
	q, rate, osl := r.obs.QueueDepth, r.obs.RequestRate, r.obs.OutputTokens
	if r.svc.Role != policies.RoleDecode || !q.OK || !rate.OK || !(rate.V > 0) || target <= 0 || !osl.OK || !(osl.V > 0) {
		return guardAsk{}
	}
	if !(q.V/rate.V > target) {
		return guardAsk{} // the backlog is at most the queue: no excess waits past the target
	}
	ready, readyRate, capacity, ok := r.prefillCapacity()
	if !ok {
		return guardAsk{}
	}
	excess, wait, _ := r.backlogOver(ready)
	if !(wait > target) {
		return guardAsk{}
	}
	if drainsWithin(excess, readyRate-rate.V, r.startupHorizon(target)) {
		return guardAsk{} // the ready prefill replicas flush it before a decode replica could serve
	}
	residence := osl.V * r.p.SLO.ITL.Target.Seconds()
	flush := min(rate.V+excess/residence, max(capacity, rate.V))
	want, ok := r.backlogNeed(flush)
	if !ok || want <= r.ready {
		return guardAsk{}
	}
	return guardAsk{code: CodeQueueBreach, want: want, value: wait, limit: target,
		note: "sized for the prefill backlog's flush into decode"}
}

// prefillCapacity is the policy's prefill services' ready replicas, their request rate, and the
// rate at their requested counts (the largest of desired, ready and this interval's decision, which
// Plan makes before decode's, within maxReplicas); false when there is no prefill
// service, a count is unknown, or the model or the input length cannot tell.
func (r *run) prefillCapacity() (ready int32, readyRate, rate float64, ok bool) {
	isl := r.obs.InputTokens
	if !isl.OK || !(isl.V > 0) {
		return 0, 0, 0, false
	}
	found := false
	for i := range r.p.NumServices() {
		s := r.p.ServiceAt(i)
		if s.Role != policies.RolePrefill {
			continue
		}
		o, known := r.obs.Service(s.Name)
		m, mok := r.modelOf(&r.st.services[i], s.Role) // prefill's own calibration
		if !known || !o.ReplicasKnown || !mok {
			return 0, 0, 0, false
		}
		perReplica, pok := prefillRate(m, isl.V, o.GPUsPerReplica)
		if !pok {
			return 0, 0, 0, false
		}
		ready += o.Ready
		readyRate += float64(o.Ready) * perReplica
		rate += float64(min(max(o.Desired, o.Ready, r.all[i].Desired), max(s.MaxReplicas, 1))) * perReplica
		found = true
	}
	return ready, readyRate, rate, found
}
