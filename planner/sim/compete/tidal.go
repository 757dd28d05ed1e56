package compete

import (
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/model"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/planner/sim"
	"github.com/tidal-planner/tidal/policies"
)

// Tidal drives tidal's own planner.Plan, the function the live loop calls, in simulated time:
// every policy interval it gets the observations of the policy's metrics window and returns the
// decision's desired replicas. It keeps the planner's State between calls and the last Decision
// for inspection.
type Tidal struct {
	policy policies.Policy
	state  planner.State
	// Last is the most recent decision.
	Last planner.Decision
	// Decisions counts Plan calls; Held those where some service held for missing data.
	Decisions, Held int
	// OnDecision, when set, gets every decision.
	OnDecision func(planner.Decision)
}

// NewTidal prepares the planner for a policy and the profile it sizes with (nil: learn online).
// The forecaster is planner.DefaultForecaster, as in the live loop, warmed with history (the load
// before the workload starts, at the policy's interval; may be empty) as the live loop warms it
// from Prometheus at start-up.
func NewTidal(p policies.Policy, prof *profile.Profile, history planner.LoadHistory) *Tidal {
	opts := planner.Options{}
	if prof != nil {
		m := model.FromProfile(*prof)
		opts.Profile = &m
	}
	st := planner.NewState(p, opts)
	if len(history.RequestRate) > 0 {
		st.Warm(history)
	}
	return &Tidal{policy: p, state: st}
}

// Cadence implements sim.Autoscaler: the policy's planning interval and metrics window, with KV
// usage over the window as tidal's default kvUsage query reads it (metrics/queries.go).
func (t *Tidal) Cadence() sim.Cadence {
	return sim.Cadence{Interval: t.policy.Planning.Interval, Window: t.policy.Metrics.Window, KVOverWindow: true}
}

// Scale implements sim.Autoscaler.
func (t *Tidal) Scale(now time.Time, obs planner.Observations) map[string]int32 {
	d := planner.Plan(now, obs, t.policy, &t.state)
	t.Last = d
	if t.OnDecision != nil {
		t.OnDecision(d)
	}
	t.Decisions++
	out := make(map[string]int32, len(d.Services))
	held := false
	for _, s := range d.Services {
		out[s.Name] = s.Desired
		held = held || s.Held
	}
	if held {
		t.Held++
	}
	return out
}
