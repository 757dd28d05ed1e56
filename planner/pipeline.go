package planner

import (
	"time"

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
	all []ServiceDecision // every service's decision; those planned before this one are final up to budget and clamp

	cur, ready int32
	known      bool // replica counts were read from the cluster
	held       bool // missing data: hold instead of sizing
	backoff    bool // another writer changed the count: keep it
	want       int32
	sized      int32 // the size step's replicas (before guards), 0 when sizing did not run
	load       Load
	modelName  string // the performance model sizing used, for the sized reason
	burning    bool   // the error budget tightened this interval (burned.go marks it)
	draining   bool   // requests in flight fell over the interval: completions outran arrivals
}

// add records a reason of this service's decision.
func (r *run) add(step Step, code Code, before, after int32, value, limit float64, note string) {
	r.st.add(r.i, Reason{Step: step, Code: code, Before: before, After: after, Value: value, Limit: limit, Note: note})
}

// pipeline runs the per-service steps in order and leaves the result in dec.Desired. Each step
// lives in the file named for it (observe.go, learn.go, errorbudget.go, forecast_step.go,
// size_step.go, guard.go, schedule.go, stabilise.go, ratelimit.go, writes.go); each reads the run,
// may change r.want, and says what it found or changed as a Reason. Across services, budget.go
// (the GPU budget and the min/max clamp) and writes.go (what is written) follow in Plan.
func (r *run) pipeline(lf loadForecast) {
	r.observe()
	r.learn()
	r.errorBudget()
	r.forecast(lf)
	r.size()
	r.guard()
	r.schedule()
	r.ss.record(r.now, r.want, r.load, r.p.Stability.ScaleDownWindow)
	r.stabilise()
	r.rateLimit()
	r.holdForOtherWriter()
	r.dec.Desired = r.want
	r.dec.Held = r.held
}
