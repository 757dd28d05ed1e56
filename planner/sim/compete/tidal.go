package compete

import (
	"math"
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
	opts   planner.Options
	state  planner.State
	// Last is the most recent decision.
	Last planner.Decision
	// Decisions counts Plan calls; Held those where some service held for missing data.
	Decisions, Held int
	// OnDecision, when set, gets every decision.
	OnDecision func(planner.Decision)
	// Restart, when set, restarts the planner during the run (Restart.At); Restarted counts the
	// restarts done.
	Restart   Restart
	Restarted int
	// history is the load (and attainment) a restart backfills: the warm-up history, then every
	// observation, as Prometheus would hold it.
	history planner.LoadHistory
}

// Restart restarts the simulated planner as a new tidal process (an upgrade, a lease taking
// over) would start: a new State, warmed from the history up to then (the policy's forecast
// history of load, as the live backfill reads it) and, unless NoReplay, with the error budget
// replayed over the attainment the run has observed (planner.State.WarmBudget).
type Restart struct {
	// Epoch is the workload's start; At are the restart times after it, ascending.
	Epoch    time.Time
	At       []time.Duration
	NoReplay bool
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
	return &Tidal{policy: p, opts: opts, state: st, history: history}
}

// Cadence implements sim.Autoscaler: the policy's planning interval and metrics window, with KV
// usage over the window as tidal's default kvUsage query reads it (metrics/queries.go).
func (t *Tidal) Cadence() sim.Cadence {
	return sim.Cadence{Interval: t.policy.Planning.Interval, Window: t.policy.Metrics.Window, KVOverWindow: true}
}

// Scale implements sim.Autoscaler.
func (t *Tidal) Scale(now time.Time, obs planner.Observations) map[string]int32 {
	if len(t.Restart.At) > 0 {
		if t.Restarted < len(t.Restart.At) && !now.Before(t.Restart.Epoch.Add(t.Restart.At[t.Restarted])) {
			t.restart()
		}
		t.remember(obs)
	}
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

// remember appends one interval's observations to the history a restart backfills (NaN where
// missing). Past twice what a backfill reads it is cut back to that (backfilled), so a long run
// holds a bounded history.
func (t *Tidal) remember(obs planner.Observations) {
	v := func(x planner.Value) float64 {
		if !x.OK {
			return math.NaN()
		}
		return x.V
	}
	h := &t.history
	h.RequestRate = append(h.RequestRate, v(obs.RequestRate))
	h.InputTokens = append(h.InputTokens, v(obs.InputTokens))
	h.OutputTokens = append(h.OutputTokens, v(obs.OutputTokens))
	h.TTFTAttained = append(h.TTFTAttained, v(obs.TTFTAttained))
	h.ITLAttained = append(h.ITLAttained, v(obs.ITLAttained))
	if b := t.backfilled(); 2*len(b.RequestRate) < len(h.RequestRate) || 2*len(b.TTFTAttained) < len(h.TTFTAttained) {
		c := func(xs []float64) []float64 { return append([]float64(nil), xs...) }
		t.history = planner.LoadHistory{RequestRate: c(b.RequestRate), InputTokens: c(b.InputTokens),
			OutputTokens: c(b.OutputTokens), TTFTAttained: c(b.TTFTAttained), ITLAttained: c(b.ITLAttained)}
	}
}

// backfilled is what a restarted process's backfill reads of the history: the policy's forecast
// history of load and its objective window of attainment (views of t.history).
func (t *Tidal) backfilled() planner.LoadHistory {
	step, h := t.policy.Planning.Interval, t.history
	last := func(xs []float64, span time.Duration) []float64 {
		if n := int(span / step); step > 0 && n > 0 && len(xs) > n {
			return xs[len(xs)-n:]
		}
		return xs
	}
	hist, window := t.policy.Planning.Forecast.History, t.policy.SLO.ObjectiveWindow
	h.RequestRate, h.InputTokens, h.OutputTokens = last(h.RequestRate, hist), last(h.InputTokens, hist), last(h.OutputTokens, hist)
	h.TTFTAttained, h.ITLAttained = last(h.TTFTAttained, window), last(h.ITLAttained, window)
	return h
}

// restart replaces the planner's state as a restarted process would build it, from what its
// backfill reads.
func (t *Tidal) restart() {
	h := t.backfilled()
	t.state = planner.NewState(t.policy, t.opts)
	t.state.Warm(h)
	if !t.Restart.NoReplay {
		t.state.WarmBudget(t.policy, h)
	}
	t.Restarted++
}
