package planner

import (
	"github.com/tidal-planner/tidal/policies"
)

// learn feeds this interval's observed latencies to the service's online models and profile
// calibrators. It skips replicas still warming up: samples count only when the cluster was read,
// every requested replica is ready and the last change is at least one startup time old.
func (r *run) learn() {
	if !r.p.PerformanceModel.Learn || r.held || !r.known || r.ready <= 0 || r.ready != r.cur || idle(r.obs) {
		return
	}
	if !r.ss.lastChange.IsZero() && r.now.Sub(r.ss.lastChange) < r.svc.StartupTime {
		return
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
		r.calibrateDecode(isl, osl)
	}
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

// calibratePrefill compares the observed mean TTFT with the profile's prediction at the observed
// load: lone-request TTFT plus the Allen–Cunneen mean wait at the ready replicas. Where that wait
// is long (maxCalibrationWait) only a TTFT above the prediction is learned.
func (r *run) calibratePrefill(rate, isl float64) {
	if !r.st.hasProfile || !r.obs.TTFT.OK {
		return
	}
	pc, ok := r.st.profile.Prefill(isl, r.dec.GPUsPerReplica)
	if !ok {
		return
	}
	w := meanWait(int(r.ready), rate, pc.ServiceTime, variability(r.obs.ArrivalCV))
	if !(w <= maxCalibrationWait*pc.ServiceTime) && !(r.obs.TTFT.V > pc.ServiceTime+w) {
		return
	}
	r.ss.ttftCal.Observe(r.obs.TTFT.V, pc.ServiceTime+w)
}

// calibrateDecode compares the observed mean ITL with the profile's ITL at the observed KV usage
// (the service's, else the deployment's) and mean context length.
func (r *run) calibrateDecode(isl, osl float64) {
	if !r.st.hasProfile || !r.obs.ITL.OK {
		return
	}
	kv := r.obs.KVUsage
	if so, ok := r.obs.Service(r.svc.Name); ok && so.KVUsage.OK {
		kv = so.KVUsage
	}
	if !kv.OK {
		return
	}
	r.ss.itlCal.Observe(r.obs.ITL.V, r.st.profile.PredictITL(kv.V, isl+osl/2))
}
