package planner

import (
	"math"

	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/policies"
)

// learn feeds this interval's observed latencies to the service's online models and profile
// calibrators. It skips replicas still warming up: samples count only when the cluster was read,
// every requested replica is ready, the last change is at least one startup time old and the
// metrics window does not reach back to an interval whose replicas were not all serving.
func (r *run) learn() {
	if !r.p.PerformanceModel.Learn || r.held || !r.known || r.ready <= 0 || r.ready != r.cur || idle(r.obs) {
		return
	}
	if !r.ss.lastChange.IsZero() && r.now.Sub(r.ss.lastChange) < r.svc.StartupTime {
		return
	}
	// backlogDraining first: it moves the mark stillInWindow reads.
	if r.backlogDraining() || r.stillInWindow(r.ss.unreadySeen) {
		return // the window's latencies still hold the queue built while replicas were not serving
	}
	rate, isl, osl := r.obs.RequestRate.V, r.obs.InputTokens.V, r.obs.OutputTokens.V
	perReplica := 1 / float64(r.ready)
	role := r.svc.Role
	if role != policies.RoleDecode && role != policies.RoleFrontend {
		if v := r.obs.TTFTPercentile; v.OK {
			r.ss.ttft.Observe(rate*isl*perReplica, v.V)
		}
		r.calibratePrefill(rate, isl)
	}
	if role != policies.RolePrefill && role != policies.RoleFrontend {
		if v := r.obs.ITLPercentile; v.OK {
			r.ss.itl.Observe(rate*osl*perReplica, v.V)
		}
		r.measureContext(isl, osl)
		r.calibrateDecode(isl, osl)
	}
}

// backlogDraining reports that the backlog built while replicas were not all serving is still
// queued (a prefilling service's queue gauge waits longer than the TTFT target), and moves the
// not-serving mark to now, so the window after the queue is seen drained is skipped too. The
// replicas a surge called for serve before the backlog it left is cleared, and the TTFTs of the
// requests that waited in it would read as a slow engine: on a ServeGen m-large day (the tenth,
// x0.5) a 3.2x step took the prefill factor from 1.08 to 1.70 within three minutes of the new
// replicas serving. Without a queue gauge it reports false: the window mark alone applies.
func (r *run) backlogDraining() bool {
	if !r.ss.drainPending || !prefills(r.svc.Role) {
		return false
	}
	if _, wait, ok := r.backlog(); ok && wait > r.p.SLO.TTFT.Target.Seconds() {
		r.ss.unreadySeen = r.now
		return true
	}
	r.ss.drainPending = false
	return false
}

// maxCalibrationWait is the predicted queueing wait, as a share of the lone-request TTFT, above
// which the prefill calibrator learns only from a TTFT above the prediction. The queue model serves
// one request at a time while the engine batches up to its token budget, so where the model
// predicts a long wait it overstates it: observed/predicted then reads an engine up to 2x faster
// than profiled, the service is sized down, its utilisation rises, the predicted wait grows and
// the ratio falls further. On the ServeGen m-large day the factor fell 0.93 -> 0.57 in six minutes
// while the load rose 25%, and the burst that followed missed 1% of the day's requests. A TTFT
// above even that overstated prediction is still a slow engine, and is learned.
const maxCalibrationWait = 0.25

// calibratePrefill learns the service-time factor k that makes the profile reproduce the observed
// mean TTFT at the observed load: k x S + W(k x S) = observed, with S the lone-request TTFT and W
// the Allen–Cunneen mean wait at the ready replicas (serviceScale). Where the uncalibrated wait is
// long (maxCalibrationWait) only a TTFT above the uncalibrated prediction is learned.
func (r *run) calibratePrefill(rate, isl float64) {
	if !r.st.hasProfile || !r.obs.TTFT.OK {
		return
	}
	pc, ok := r.st.profile.Prefill(isl, r.dec.GPUsPerReplica)
	if !ok {
		return
	}
	c, v := int(r.ready), variability(r.obs.ArrivalCV)
	w := meanWait(c, rate, pc.ServiceTime, v)
	if !(w <= maxCalibrationWait*pc.ServiceTime) && !(r.obs.TTFT.V > pc.ServiceTime+w) {
		return
	}
	r.ss.ttftCal.ObserveScale(serviceScale(r.obs.TTFT.V, c, rate, pc.ServiceTime, v))
}

// serviceScaleSteps bounds serviceScale's bisection: 25 halvings of [MinScale, MaxScale] (a log
// width of ln 8) leave it within 1e-7 of the root in log space.
const serviceScaleSteps = 25

// serviceScale returns the factor k in [model.MinScale, model.MaxScale] for which c servers of
// service time k x s, at arrival rate lambda and variability v, have the mean TTFT ttft:
// k x s + meanWait(c, lambda, k x s, v) = ttft. Sizing scales the service time inside the queue
// model, so the factor must be read the same way. The ratio ttft / (s + W(s)) reads an engine k
// times slower as more than k wherever the wait matters, because W grows faster than s: with
// prefill pinned at 2, 3 and 4 replicas in a world 1.35x the profile, it read 1.51, 1.40 and 1.36
// (docs/planner.md). The left side grows with k (to +Inf where the queue is unstable), so the root
// is found by bisection; a ttft beyond either bound gives that bound.
func serviceScale(ttft float64, c int, lambda, s, v float64) float64 {
	lo, hi := math.Log(model.MinScale), math.Log(model.MaxScale)
	for range serviceScaleSteps {
		mid := (lo + hi) / 2
		k := math.Exp(mid)
		if k*s+meanWait(c, lambda, k*s, v) > ttft {
			hi = mid
		} else {
			lo = mid
		}
	}
	return math.Exp((lo + hi) / 2)
}

// measureContext reads how much longer the decode batch's mean context is than input + output / 2
// (model.BatchContext): the KV tokens this service's ready replicas hold (their KV usage, else
// the deployment's, x the profile's capacity) over the sequences past their first token (in
// flight - queued, the frontend's gauges). Those gauges count the whole deployment, so it
// measures only where this is the one service that decodes.
func (r *run) measureContext(isl, osl float64) {
	if !r.st.hasProfile || !r.obs.Inflight.OK || !r.obs.QueueDepth.OK || !r.soleDecoder() {
		return
	}
	kv, ok := r.decodeKV()
	if !ok {
		return
	}
	kvTokens := kv * float64(r.ready) * r.st.profile.KVTokens(r.dec.GPUsPerReplica)
	r.ss.batchCtx.Observe(kvTokens, r.obs.Inflight.V-r.obs.QueueDepth.V, isl, osl)
}

// soleDecoder reports whether this is the policy's only service that decodes.
func (r *run) soleDecoder() bool {
	n := 0
	for i := range r.p.NumServices() {
		if decodes(r.p.ServiceAt(i).Role) {
			n++
		}
	}
	return n == 1
}

// calibrateDecode compares the observed mean ITL with the profile's ITL at the observed KV usage
// (the service's, else the deployment's) and the batch's mean context length (measureContext),
// and records that KV usage as the factor's reach (model.Profile.WithITLReach).
func (r *run) calibrateDecode(isl, osl float64) {
	if !r.st.hasProfile || !r.obs.ITL.OK {
		return
	}
	kv, ok := r.decodeKV()
	if !ok {
		return
	}
	p := r.profileOf(r.ss)
	if r.ss.itlCal.Observe(r.obs.ITL.V, p.PredictITL(kv, p.Context(isl, osl))) {
		r.ss.itlReach.Observe(kv)
	}
}

// decodeKV is this service's observed KV usage, else the deployment's (the mean over the workers
// that decode), and whether either is known.
func (r *run) decodeKV() (float64, bool) {
	kv := r.obs.KVUsage
	if so, ok := r.obs.Service(r.svc.Name); ok && so.KVUsage.OK {
		kv = so.KVUsage
	}
	return kv.V, kv.OK
}
