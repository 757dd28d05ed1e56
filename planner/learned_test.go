package planner

import (
	"math"
	"testing"
	"time"
)

// TestLearnedModelSizes runs without a profile against a world whose TTFT percentile is
// 0.05 s + 1e-5 s per prefill token/s per replica (so one replica carries 25,000 tokens/s at the
// 300 ms target): the planner holds until its online fit has evidence, then sizes from it.
func TestLearnedModelSizes(t *testing.T) {
	p := mustPolicy(t, disaggYAML)
	st := NewState(p, Options{NewForecaster: lastValueForecasters(0)})
	w := newWorld(reps(1, 1, 1))
	startup := map[string]time.Duration{"Frontend": 30 * time.Second, "Prefill": 2 * time.Minute, "Decode": 2 * time.Minute}
	var d Decision
	sawNoModel := false
	for i := range 120 {
		now := t0.Add(time.Duration(i) * time.Minute)
		rate := 4 + 8*(1+math.Sin(float64(i)/5))/2 // 4..12 req/s, so per-replica load varies
		obs := steady(now, rate, reps(1, 1, 1))
		w.observe(&obs, now)
		pre, _ := obs.Service("Prefill")
		perReplica := rate * 2000 / float64(max(pre.Ready, 1))
		obs.TTFTPercentile = Known(0.05 + 1e-5*perReplica)
		obs.ITLPercentile = Known(0.005 + 1e-6*rate*200/float64(max(pre.Ready, 1)))
		d = Plan(now, obs, p, &st)
		w.apply(d, now, startup)
		if sd, _ := d.Service("Prefill"); hasCode(sd, CodeNoModel) {
			sawNoModel = true
		}
	}
	if !sawNoModel {
		t.Error("the planner never reported holding for lack of a model before its fit had evidence")
	}
	sd, _ := d.Service("Prefill")
	if !hasCode(sd, CodeLearnedModel) || !hasCode(sd, CodeSized) {
		t.Fatalf("final decision did not size from the learned model:\n%s", reasonLines(sd))
	}
	// The sized load is the observed token rate x 1.1 headroom; capacity 25,000 tokens/s.
	if want := sd.Load.InputTokenRate / 25000; math.Abs(sd.Need-want)/want > 0.05 {
		t.Errorf("learned need %.3f replicas, want %.3f within 5%% (load %.0f tokens/s)", sd.Need, want, sd.Load.InputTokenRate)
	}
}
