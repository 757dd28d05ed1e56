package planner

import (
	"math"
	"time"

	"github.com/tidal-planner/tidal/forecast"
	"github.com/tidal-planner/tidal/policies"
)

// run carries one service through the per-service steps of the pipeline.
type run struct {
	now time.Time
	obs Observations
	p   policies.Policy
	st  *State
	i   int
	svc policies.Service
	ss  *serviceState
	dec *ServiceDecision

	cur, ready int32
	known      bool // replica counts were read from the cluster
	held       bool // missing data: hold instead of sizing
	backoff    bool // another writer changed the count: keep it
	want       int32
	sized      int32 // the size step's replicas (before guards), 0 when sizing did not run
	load       Load
	modelName  string // the performance model sizing used, for the sized reason
}

func (r *run) add(step Step, code Code, before, after int32, value, limit float64, note string) {
	r.st.add(r.i, Reason{Step: step, Code: code, Before: before, After: after, Value: value, Limit: limit, Note: note})
}

// pipeline runs the per-service steps in order and leaves the result in dec.Desired.
func (r *run) pipeline(lf loadForecast) {
	r.observe()
	r.learn()
	r.errorBudget()
	r.forecast(lf)
	r.size()
	r.guard()
	r.schedule()
	r.ss.record(r.now, r.want, r.p.Stability.ScaleDownWindow)
	r.stabilise()
	r.rateLimit()
	r.holdForOtherWriter()
	r.dec.Desired = r.want
	r.dec.Held = r.held
}

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

// forecast sets the load to size for. With a warm reserve (reserve.go): per rate, the larger of
// the observed value times its growth factor at the service's risk quantile and the forecast's
// point value over the lead time, times 1 + headroom. While the reserve is cold: the larger of the
// observed value and the forecast's upper bound over the lead time (itself bounded by the recent
// observed peak, see bound.go), times 1 + headroom.
func (r *run) forecast(lf loadForecast) {
	if r.held {
		return
	}
	rate := r.obs.RequestRate.V
	isl, osl := r.obs.InputTokens.V, r.obs.OutputTokens.V
	if r.svc.Role == policies.RoleFrontend || !r.obs.InputTokens.OK || !r.obs.OutputTokens.OK {
		isl, osl = 0, 0 // a frontend needs none; missing past observe means idle (no requests)
	}
	in, out := rate*isl, rate*osl
	h := horizon(r.svc.StartupTime, r.p.Planning.Interval)
	reserved := r.reserve(lf, h, &rate, &in, &out)
	ok := reserved
	if !reserved {
		var u float64
		if u, ok = upper(lf.rate, h); ok {
			u = r.bounded(u, lf.bounds[0])
		}
		rate = max(rate, u)
		if u, ok2 := upper(lf.input, h); ok2 {
			in = max(in, min(u, lf.bounds[1].limit))
		}
		if u, ok3 := upper(lf.output, h); ok3 {
			out = max(out, min(u, lf.bounds[2].limit))
		}
	}
	f := 1 + max(r.p.Planning.Headroom, 0)
	r.load = Load{RequestRate: rate * f, InputTokenRate: in * f, OutputTokenRate: out * f, InputTokens: isl, OutputTokens: osl}
	r.dec.Load = r.load
	if r.svc.Role != policies.RoleFrontend && r.load.RequestRate > 0 && !(isl > 0) {
		// Idle now, but the forecast still expects load, and sizing it needs token lengths.
		r.held = true
		r.add(StepObserve, CodeMissing, r.cur, r.cur, r.load.RequestRate, 0,
			"token lengths: no requests in the window, and the forecast expects load")
		return
	}
	switch {
	case reserved:
	case ok:
		r.add(StepForecast, CodeForecast, r.cur, r.cur, r.load.RequestRate, r.obs.RequestRate.V, lf.names[0])
	default:
		r.add(StepForecast, CodeForecastNone, r.cur, r.cur, r.load.RequestRate, r.obs.RequestRate.V, "")
	}
}

// reserve plans each rate as max(observed x G_q, the forecast's point value over the lead time),
// G_q being the growth factor at the service's risk quantile q (reserve.go), and says so. It
// returns false, changing nothing, while the request rate's reserve is cold.
func (r *run) reserve(lf loadForecast, h int, rate, in, out *float64) bool {
	q := r.ss.risk.quantile()
	var g [3]float64
	for k := range g {
		f, ok := r.st.growth[k].quantile(q)
		if k == 0 && !ok {
			return false
		}
		g[k] = f
	}
	for k, v := range [3]*float64{rate, in, out} {
		*v *= g[k]
		if p, ok := pointMax([3][]forecast.Point{lf.rate, lf.input, lf.output}[k], h); ok {
			*v = max(*v, p)
		}
	}
	main := g[0]
	switch r.svc.Role {
	case policies.RolePrefill:
		main = g[1]
	case policies.RoleDecode:
		main = g[2]
	case policies.RoleAggregated:
		main = max(g[1], g[2])
	}
	r.add(StepForecast, CodeReserve, r.cur, r.cur, main, q, lf.names[0])
	return true
}

// bounded caps the request rate's upper bound at its bound, saying so (Value = the forecast's
// upper bound, Limit = the bound; Note = why).
func (r *run) bounded(u float64, b bound) float64 {
	if u <= b.limit {
		return u
	}
	note := "band wide: bounded at " + bandWideFactor + " x recent observed peak"
	if b.cold {
		note = "forecaster on a fallback (short history): bounded at " + coldFactor + " x recent observed peak"
	}
	r.add(StepForecast, CodeForecastBounded, r.cur, r.cur, u, b.limit, note)
	return b.limit
}

// sizingFor returns the sizing parameters of this service.
func (r *run) sizingFor() sizing {
	return sizing{
		role: r.svc.Role, slo: r.p.SLO, gpus: r.dec.GPUsPerReplica, variability: variability(r.obs.ArrivalCV),
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
