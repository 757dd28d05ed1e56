package compete

import (
	"math"
	"testing"
	"time"

	"github.com/tidal-planner/tidal/planner"
	"github.com/tidal-planner/tidal/planner/sim/scenario"
)

// TestTidalRestart drives the simulated planner through a restart: 30 minutes in which prefill
// misses 5% of its TTFTs, a restart, then an interval whose attainment is unknown (so the level
// shows what the restart left). With the replay the new state resumes tight and with the window
// spent; without it, at the initial level. The restart happens once, at its time.
func TestTidalRestart(t *testing.T) {
	p, err := scenario.Policy()
	if err != nil {
		t.Fatal(err)
	}
	prof, err := scenario.Profile()
	if err != nil {
		t.Fatal(err)
	}
	epoch := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	obs := func(now time.Time, ttft planner.Value) planner.Observations {
		k := planner.Known
		o := planner.Observations{Time: now, Window: time.Minute, RequestRate: k(15), InputTokens: k(3000),
			OutputTokens: k(150), TTFT: k(0.1), TTFTPercentile: k(0.2), ITL: k(0.008), ITLPercentile: k(0.01),
			QueueDepth: k(0), Inflight: k(30), KVUsage: k(0.2), ArrivalCV: k(1), TTFTAttained: ttft, ITLAttained: k(1)}
		for _, name := range []string{"VllmPrefillWorker", "VllmDecodeWorker"} {
			o.Services = append(o.Services, planner.ServiceObservation{Name: name, Desired: 2, Ready: 2, ReplicasKnown: true, GPUsPerReplica: 1})
		}
		return o
	}
	tests := []struct {
		name      string
		noReplay  bool
		wantTight bool
	}{
		{"replayed: resumes tight", false, true},
		{"not replayed: the initial level", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tid := NewTidal(p, &prof, planner.LoadHistory{})
			tid.Restart = Restart{Epoch: epoch, At: []time.Duration{30 * time.Minute}, NoReplay: tc.noReplay}
			for m := 1; m < 30; m++ {
				tid.Scale(epoch.Add(time.Duration(m)*time.Minute), obs(epoch, planner.Known(0.95)))
			}
			if tid.Restarted != 0 {
				t.Fatalf("restarted %d times before its time", tid.Restarted)
			}
			for m := 30; m < 33; m++ {
				tid.Scale(epoch.Add(time.Duration(m)*time.Minute), obs(epoch, planner.Unknown("no data")))
			}
			if tid.Restarted != 1 {
				t.Fatalf("restarted %d times, want once", tid.Restarted)
			}
			pre, ok := tid.Last.Service("VllmPrefillWorker")
			if !ok {
				t.Fatal("no prefill decision")
			}
			b := pre.Budget // frozen (attainment unknown): the level is what the restart left
			tight, initial := b.Risk < 0.05, math.Abs(b.Risk-0.05) < 1e-12
			if b.Measured || tight != tc.wantTight || !tc.wantTight && !initial {
				t.Errorf("prefill's budget after the restart %+v: want tight %v (the initial level 0.05 otherwise)", b, tc.wantTight)
			}
		})
	}
}
