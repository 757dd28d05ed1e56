package sim

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/profile"
	"github.com/tidal-planner/tidal/policies"
)

// sharedProfile loads the embedded H200 Llama-3.1-8B profile (the scenario package's copy, read
// from the repository so that package's import of sim does not make a cycle); it is always there.
func sharedProfile(t testing.TB) profile.Profile {
	t.Helper()
	dir := filepath.Join("scenario", "h200-llama-3.1-8b")
	ps, err := profile.Load(dir)
	if err != nil {
		t.Fatalf("loading %s: %v", dir, err)
	}
	return ps[0]
}

// testDeployment is a disaggregated deployment with fixed replica counts.
func testDeployment(t testing.TB, prefill, decode int) Deployment {
	t.Helper()
	return Deployment{
		Model: NewModel(sharedProfile(t)), TTFT: 300 * time.Millisecond, ITL: 25 * time.Millisecond,
		TTFTPercentile: 90, ITLPercentile: 90, PrefillTokenBudget: DefaultPrefillTokenBudget,
		MaxBatch: DefaultMaxBatch, MaxContext: DefaultMaxContext,
		Services: []Service{
			{Name: "prefill", Role: policies.RolePrefill, GPUsPerReplica: 1, StartupTime: time.Minute,
				MinReplicas: 1, MaxReplicas: 10, Initial: prefill},
			{Name: "decode", Role: policies.RoleDecode, GPUsPerReplica: 1, StartupTime: time.Minute,
				MinReplicas: 1, MaxReplicas: 10, Initial: decode},
		},
	}
}

// fixed is an autoscaler that never changes anything; it records what it saw.
type fixed struct {
	cadence Cadence
	seen    []planner.Observations
}

func (f *fixed) Cadence() Cadence {
	if f.cadence.Interval == 0 {
		return Cadence{Interval: time.Minute, Window: time.Minute}
	}
	return f.cadence
}

func (f *fixed) Scale(_ time.Time, obs planner.Observations) map[string]int32 {
	f.seen = append(f.seen, obs)
	return nil
}

// scripted returns the replica counts of the first step whose time has come.
type scripted struct {
	steps []scriptStep
	epoch time.Time
}

type scriptStep struct {
	at   time.Duration
	want map[string]int32
}

func (s *scripted) Cadence() Cadence { return Cadence{Interval: 15 * time.Second, Window: time.Minute} }

func (s *scripted) Scale(now time.Time, _ planner.Observations) map[string]int32 {
	var out map[string]int32
	for _, st := range s.steps {
		if now.Sub(s.epoch) >= st.at {
			out = st.want
		}
	}
	return out
}

// steady returns n requests arriving every gap with the given lengths.
func steady(n int, gap time.Duration, in, out int) Workload {
	wl := Workload{Name: "steady"}
	for i := range n {
		wl.Requests = append(wl.Requests, Request{Arrival: time.Duration(i) * gap, InputTokens: in, OutputTokens: out})
	}
	wl.Duration = time.Duration(n) * gap
	return wl
}
